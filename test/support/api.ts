import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { ERROR_CODES, type ErrorCode } from '../../shared/errors.ts'
import type { Message, Room } from '../../shared/schemas.ts'
import type { Agent } from './app.ts'

/** Text that must never reach a client: stack frames, file paths, driver or SQL errors. */
const INTERNALS =
  /\n\s+at |node_modules|\/work\/|\.ts:\d|SELECT |INSERT |relation "|syntax error|TypeError|ReferenceError/

/** Asserts a typed error body `{ error: { code, message } }` and nothing else, with no internals in it. */
export function expectError(response: LightMyRequestResponse, status: number, code: ErrorCode): void {
  expect({ status: response.statusCode, body: response.body }).toMatchObject({ status })
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json()
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message'])
  expect(body.error.code).toBe(code)
  expect(ERROR_CODES).toContain(body.error.code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(response.body).not.toMatch(INTERNALS)
}

export async function createRoom(
  agent: Agent,
  visibility: 'public' | 'private' = 'public',
  name = `room ${randomUUID().slice(0, 8)}`,
): Promise<Room> {
  const response = await agent.request('POST', '/api/rooms', { name, visibility })
  expect(response.statusCode, response.body).toBe(201)
  return response.json().room
}

export async function sendMessage(
  agent: Agent,
  roomId: string,
  body: string,
  clientId: string = randomUUID(),
): Promise<Message> {
  const response = await agent.request('POST', `/api/rooms/${roomId}/messages`, { clientId, body })
  expect(response.statusCode, response.body).toBe(201)
  return response.json().message
}

export async function join(agent: Agent, roomId: string): Promise<void> {
  const response = await agent.request('POST', `/api/rooms/${roomId}/join`)
  expect(response.statusCode, response.body).toBe(200)
}
