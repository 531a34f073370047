export { type Instrumented, type InstrumentOptions, instrument } from './instrument.ts'
export {
  type Attributes,
  type AttributeValue,
  currentInstrumentation,
  type Instrumentation,
  setInstrumentation,
  type WaitRecord,
} from './instrumentation.ts'
export * from './names.ts'
