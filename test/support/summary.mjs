// Prints vitest's JSON report as one plain closing line: "N passed, N failed, N skipped".
import fs from 'node:fs'

const file = process.argv[2] ?? 'test-results/vitest.json'
const report = JSON.parse(fs.readFileSync(file, 'utf8'))
const skipped = report.numPendingTests + report.numTodoTests
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`)
