import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { createRoom, sendMessage } from '../support/api.ts'
import { signUp, testConfig } from '../support/app.ts'
import { createTestDatabase } from '../support/databases.ts'

describe('FERRY_PROFILE_FILE: the append path timed per stage', () => {
  it('writes, at shutdown, every stage of every batch and the writes they held', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-profile-')), 'profile.json')
    const database = await createTestDatabase('pglite')
    const app = await buildApp({ config: testConfig({ profileFile: file }), database, serveClient: false })
    try {
      const alice = await signUp(app)
      const room = await createRoom(alice)
      await Promise.all(Array.from({ length: 5 }, (_, i) => sendMessage(alice, room.id, `m${i}`)))
    } finally {
      await app.close()
      await database.close()
    }
    const { stages, eventLoopDelayMs } = JSON.parse(fs.readFileSync(file, 'utf8'))
    // Counts only (durations are the machine's business): 5 writes in some number of batches.
    expect(stages['batch.size'].total).toBe(5)
    expect(stages['write.queueWait'].count).toBe(5)
    const batches = stages['batch.size'].count
    for (const stage of ['sql.append', 'batch.transaction', 'batch.publish']) {
      expect(stages[stage].count, stage).toBe(batches)
    }
    expect(eventLoopDelayMs.count).toBeGreaterThanOrEqual(0)
    fs.rmSync(path.dirname(file), { recursive: true, force: true })
  })

  it('is off by default: nothing timed, nothing written', () => {
    expect(testConfig().profileFile).toBeUndefined()
  })
})
