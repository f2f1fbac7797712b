import { configure } from '@testing-library/preact'

// findBy*/waitFor give up after 1 s by default. Under a loaded CI machine (2 cores, the
// e2e browsers beside) a Discover test once needed 2.2 s to show its first result; the wait
// is a limit, not a measurement, so it is generous.
configure({ asyncUtilTimeout: 10_000 })
