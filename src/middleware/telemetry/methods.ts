/**
 * The methods the HTTP semantic conventions name as they are; any other is recorded as
 * `_OTHER` (with `http.request.method_original`), which keeps span names and attribute
 * values few. Shared by the server span (`telemetry()`) and the client's spans.
 */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
])
