/**
 * Narrowing of untyped values a player sent (D-Bus bodies after `plain()`, mpv's JSON): each
 * returns the value when it has the expected type, else null. No library imports, so a backend
 * that needs no D-Bus can use them without loading the D-Bus library.
 */
export function asRecord (value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)
    ? value as Record<string, unknown>
    : null
}

export function asNumber (value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

export function asString (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

export function asBoolean (value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null
}

export function asStringArray (value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

export function describeError (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
