/** What each runtime's starter hands back, before it is dressed as a RuntimeServer. */
export interface RunningRuntime {
  readonly url: string
  logs(): string
  close(): Promise<void>
}
