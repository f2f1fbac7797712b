/**
 * The one IndexedDB schema of the client. Every store the app touches is typed
 * here; `upgradeSchema` moves any older version forward step by step, the way
 * server migrations do, and each step is frozen once released.
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb'
import type { ErrorCode } from '../../shared/errors.ts'
import type { Member, Room, RoomEvent, User } from '../../shared/schemas.ts'
import { markSearchFillPending } from '../search/fill.ts'

export const DB_NAME = 'ferry'
export const DB_VERSION = 8

/** What an outbox item asks the server for (issue 9); items from before it have no `type` and are sends. */
export type OutboxItemType = 'send' | 'edit' | 'delete' | 'react'

/**
 * A message the user wrote, or a change they made to one (edit, delete,
 * react), that the server has not acknowledged yet. All of them share one
 * order and, per room, one `afterClientId` chain (client/outbox/operations.ts).
 */
export interface OutboxItem {
  clientId: string
  roomId: string
  /** A send's or an edit's text; '' for a delete or a reaction. */
  body: string
  /** Absent on items written before issue 9: a send. */
  type?: OutboxItemType
  /** The message acted on (edit, delete, react): its seq, or its clientId while its seq is unknown to us. */
  targetSeq?: number
  targetClientId?: string
  /** react: one emoji, added or removed. */
  emoji?: string
  action?: 'add' | 'remove'
  /** send: the message replied to, by seq or, while its seq is unknown, by clientId. */
  replyTo?: number
  replyToClientId?: string
  /** Creation order across the whole outbox (assigned inside the writing transaction). */
  order: number
  createdAt: string
  state: 'waiting' | 'failed'
  error: { code: ErrorCode | 'network'; message: string } | null
  attempts: number
  /**
   * Set (to the sender's clock, ms) when a sender (the leader tab's flusher or
   * the service worker) hands the message to the network; cleared when the
   * server refuses it (nothing stored). While set, the server may already
   * hold it, so it cannot be edited or discarded. Absent on older items.
   */
  sentAt?: number
}

/** Inclusive seq interval [from, to] held in the messages store with no hole. */
export type SeqRange = [number, number]

export interface RoomCursor {
  roomId: string
  /** Resume point: the subscribe frame asks for events after this seq. */
  lastSeq: number
  /** Seq ranges held without holes (sorted, disjoint, non-adjacent). */
  ranges: SeqRange[]
  /** False once the server said there is nothing older than what we hold. */
  hasOlder: boolean
  /**
   * The `lastSeq` of the latest `reset`: what the device held from before it may
   * lack changes made in the skipped part of the log, until a history page's
   * snapshot with `through` at least this replaces it (client/db/messages.ts `isStale`).
   */
  resetTo?: number
}

export interface Draft {
  roomId: string
  text: string
  /** When the text was last changed (ISO, the injected clock): the room list sorts by it. Drafts saved before it existed have none. */
  updatedAt?: string
}

/**
 * A room row as cached. `readPending` is the highest seq the person read here
 * that the server has not confirmed yet (posted later when it failed, e.g.
 * offline); a refresh from the server keeps it, so read messages stay read.
 * `serverReadSeq` is the read marker as the server last told it: `lastReadSeq`
 * also moves locally (the leader's engine counts the viewed room and the
 * person's own messages as read), so it cannot say whether the server knows.
 */
export type CachedRoom = Room & { readPending?: number; serverReadSeq?: number }

/**
 * The session row: the person signed in on this device, or, once their
 * session is known to have ended (`ended`), the person whose unsent messages
 * and drafts this device still keeps for them.
 */
export type SessionRecord = User & { ended?: true }

/**
 * What the first screen shows, saved as one record (db/first-screen.ts) so a cold start paints it
 * with one `get`. A copy of the other stores, never the truth: read as unknown and validated.
 */
export interface FirstScreenRecord {
  /** The record's own shape; any other value is ignored (an older or newer app wrote it). */
  v: 1
  /** Whose screen it is: painted only for the same signed-in person. */
  userId: string
  rooms: CachedRoom[]
  outbox: OutboxItem[]
  /** The room that was open: its newest entries (oldest first) and whether older ones exist. */
  room: { roomId: string; entries: RoomEvent[]; hasOlder: boolean } | null
}

export interface FerryDB extends DBSchema {
  session: { key: 'me'; value: SessionRecord }
  rooms: { key: string; value: CachedRoom }
  /** Every room log entry we hold (messages and the events that amend them), by [roomId, seq]. */
  messages: {
    key: [string, number]
    value: RoomEvent
    /** Version 3: a message's amendments by `[roomId, targetSeq]` (entries without a target are not in it). */
    indexes: { 'by-target': [string, number] }
  }
  outbox: {
    key: string
    value: OutboxItem
    indexes: { 'by-order': number; 'by-room': [string, number] }
  }
  cursors: { key: string; value: RoomCursor }
  /** Added in version 2: composer text survives reloads and app updates. */
  drafts: { key: string; value: Draft }
  /** Added in version 3: the first screen as one record (key 'me'), a copy of the stores above. */
  firstScreen: { key: 'me'; value: FirstScreenRecord }
  /** Added in version 5: each room's member list as last loaded (db/members.ts), for the Members sheet and `@` offline. */
  members: { key: string; value: CachedMembers }
  /**
   * Added in version 6 (issue 10): this device's notifications (key 'me'): whether the person
   * wants them, the push subscription the server knows, the banner's dismissal. Read as unknown
   * and validated (client/push/device.ts); the service worker reads it too.
   */
  pushDevice: { key: 'me'; value: PushDeviceRecord }
  /**
   * Added in version 6 (issue 10): what the person chose to hear of each room, and whether the
   * server still has to be told (`pending`): the durable queue of that setting, last write wins.
   * Read as unknown and validated (client/push/room-levels.ts).
   */
  roomNotify: { key: string; value: RoomNotifyRecord }
  /**
   * Added in version 7: the notifications banner's history per person on this device (key: the
   * user id): whether they sent a first message here and answered the offer. Not a user store: it
   * outlives logout, so the banner comes once per person. Read as unknown and validated
   * (client/push/prompt.ts).
   */
  pushPrompt: { key: string; value: PushPromptRecord }
  /**
   * Added in version 8 (issue 12): the offline search index, one record per message the device
   * holds with text (its current text, folded words and what a hit shows), kept in step with
   * `messages` in the same transaction (client/search/index.ts). Keyed by time so the newest
   * candidates come first without reading records. Read as unknown and validated.
   */
  search: {
    key: [string, string, number]
    value: SearchRecord
    indexes: { 'by-term': string; 'by-message': [string, number] }
  }
  /**
   * Added in version 8 (issue 12): while present (key 'me'), the search index still lacks some of
   * the messages cached before it existed, and the background fill (client/search/fill.ts) goes on
   * after `after`, the last `messages` key it indexed. Absent: the index is complete.
   */
  searchFill: { key: 'me'; value: SearchFillRecord }
}

/** The background fill of the search index: its position in `messages` (null: from the start). */
export interface SearchFillRecord {
  v: 1
  after: [string, number] | null
}

/** A message as the offline search index holds it (client/search/index.ts). */
export interface SearchRecord {
  /** The message's `createdAt` (ISO): first part of the key, so keys sort by time. */
  at: string
  roomId: string
  seq: number
  authorId: string | null
  authorName: string
  edited: boolean
  /** The current text (after edits); a deleted message has no record. */
  text: string
  /** Its distinct folded words (shared/search/text.ts `words`): the multiEntry `by-term` index. */
  terms: string[]
}

/** The banner's history for one person on this device, as client/push/prompt.ts keeps it. */
export interface PushPromptRecord {
  v: 1
  /** They sent a message from this device (the offer comes only after the first). */
  sent: boolean
  /** They dismissed the banner or turned notifications on here: it never comes again. */
  answered: boolean
}

/** This device's notifications, as client/push/device.ts keeps them. */
export interface PushDeviceRecord {
  v: 1
  /** The person turned notifications on here (and did not turn them off since). */
  wanted: boolean
  /** The subscription the server registered for this device, with the key it was made with. */
  subscription: { id: string; endpoint: string; publicKey: string } | null
  /** The "Get notified of new messages" banner was dismissed: it never comes back by itself. */
  promptDismissed: boolean
}

/** A room's notification level as chosen on this device; `pending` until the server confirmed it. */
export interface RoomNotifyRecord {
  roomId: string
  level: 'all' | 'mentions' | 'none'
  pending: boolean
}

/** A room's member list as the server last gave it: a copy, read as unknown data and validated (db/members.ts). */
export interface CachedMembers {
  roomId: string
  members: Member[]
}

export type FerryDatabase = IDBPDatabase<FerryDB>

/**
 * Stores that hold the signed-in user's data; logging out clears all of them.
 * A session that ended (rooms.ts `expireSession`) keeps outbox and drafts for
 * the same person and wipes every other store.
 */
export const USER_STORES = [
  'session',
  'rooms',
  'messages',
  'outbox',
  'cursors',
  'drafts',
  'firstScreen',
  'members',
  'pushDevice',
  'roomNotify',
  'search',
  'searchFill',
] as const

export function upgradeSchema(
  db: FerryDatabase,
  oldVersion: number,
  tx: IDBPTransaction<FerryDB, StoreNames<FerryDB>[], 'versionchange'>,
): void {
  if (oldVersion < 1) {
    db.createObjectStore('session')
    db.createObjectStore('rooms', { keyPath: 'id' })
    db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] })
    const outbox = db.createObjectStore('outbox', { keyPath: 'clientId' })
    outbox.createIndex('by-order', 'order')
    db.createObjectStore('cursors', { keyPath: 'roomId' })
  }
  if (oldVersion < 2) {
    // Version 1 flushed the whole outbox in one order; per-room queues need a room index.
    tx.objectStore('outbox').createIndex('by-room', ['roomId', 'order'])
    db.createObjectStore('drafts', { keyPath: 'roomId' })
  }
  if (oldVersion < 3) {
    // A cold start paints from one record instead of reading five stores.
    db.createObjectStore('firstScreen')
  }
  if (oldVersion < 4) {
    // A deletion removes the text of its message's edits too (issue 9): find them without scanning the room.
    tx.objectStore('messages').createIndex('by-target', ['roomId', 'targetSeq'])
  }
  if (oldVersion < 5) {
    // Who is in a room, offline too: the Members sheet and `@` autocomplete (issue 9).
    db.createObjectStore('members', { keyPath: 'roomId' })
  }
  if (oldVersion < 6) {
    // Notifications (issue 10): the device's push subscription and the per-room levels.
    db.createObjectStore('pushDevice')
    db.createObjectStore('roomNotify', { keyPath: 'roomId' })
  }
  if (oldVersion < 7) {
    // The notifications banner once per person on this device, surviving logout (issue 10).
    db.createObjectStore('pushPrompt')
  }
  if (oldVersion < 8) {
    // Offline search (issue 12): a word index of the messages held. The upgrade reads no message
    // (20,000 took 30 s on a phone, with the app unable to open its database): it marks the
    // messages cached so far for the background fill after open (client/search/fill.ts).
    const search = db.createObjectStore('search', { keyPath: ['at', 'roomId', 'seq'] })
    search.createIndex('by-term', 'terms', { multiEntry: true })
    search.createIndex('by-message', ['roomId', 'seq'], { unique: true })
    db.createObjectStore('searchFill')
    if (oldVersion > 0) markSearchFillPending(tx)
  }
}
