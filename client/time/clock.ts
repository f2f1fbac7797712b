/**
 * The client's one source of "now". Screens and state read the time through
 * here, so tests pin it and nothing depends on the day or the zone they run in.
 */
let source: () => number = () => Date.now()

export const now = (): number => source()

/** For tests: pin the clock (or pass undefined to return to the real one). */
export function setClock(fixed: (() => number) | undefined): void {
  source = fixed ?? (() => Date.now())
}
