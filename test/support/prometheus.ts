/**
 * Prometheus text format, parsed enough for assertions: each sample as
 * `name{label="value",…}` with its labels sorted by name, to its value.
 */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`)
    const [, name, labels = '', value] = match
    samples.set(
      sampleKey(
        name!,
        Object.fromEntries([...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!])),
      ),
      Number(value),
    )
  }
  return samples
}

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const sorted = Object.keys(labels).sort()
  return sorted.length === 0 ? name : `${name}{${sorted.map((key) => `${key}="${labels[key]}"`).join(',')}}`
}

/** A sample's value (0 when the sample is absent: a counter with labels appears at its first increment). */
export function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  return samples.get(sampleKey(name, labels)) ?? 0
}
