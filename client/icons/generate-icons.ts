/**
 * Draws Ferry's app icons as PNG files into client/public/icons.
 * Run with `npx tsx client/icons/generate-icons.ts`; the output is committed,
 * so builds need no image tooling. Shapes are signed-distance functions
 * sampled 4×4 per pixel for smooth edges.
 */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'

type Rgba = [number, number, number, number]
const BRAND: Rgba = [15, 94, 156, 255]
const WHITE: Rgba = [255, 255, 255, 255]

function roundedRect(x: number, y: number, cx: number, cy: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(x - cx) - hw + r
  const qy = Math.abs(y - cy) - hh + r
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r
}

/** Inside the triangle (a, b, c)? Used for the bubble's tail. */
function inTriangle(x: number, y: number, t: number[]): boolean {
  const [ax, ay, bx, by, cx, cy] = t as [number, number, number, number, number, number]
  const s1 = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
  const s2 = (cx - bx) * (y - by) - (cy - by) * (x - bx)
  const s3 = (ax - cx) * (y - cy) - (ay - cy) * (x - cx)
  return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0)
}

/** Colour at a point in unit coordinates (0..1). `maskable` fills the whole square (safe zone: 80 % circle). */
function shade(x: number, y: number, maskable: boolean): Rgba | null {
  const scale = maskable ? 0.62 : 0.8
  const u = (x - 0.5) / scale + 0.5
  const v = (y - 0.5) / scale + 0.5
  const inBackground = maskable || roundedRect(x, y, 0.5, 0.5, 0.5, 0.5, 0.22) <= 0
  if (!inBackground) return null
  const bubble =
    roundedRect(u, v, 0.5, 0.44, 0.34, 0.26, 0.14) <= 0 || inTriangle(u, v, [0.3, 0.6, 0.46, 0.66, 0.24, 0.84])
  if (bubble) {
    for (const dx of [0.34, 0.5, 0.66]) if (Math.hypot(u - dx, v - 0.44) <= 0.055) return BRAND
    return WHITE
  }
  return BRAND
}

function crcTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}
const CRC = crcTable()
function crc32(buf: Buffer): number {
  let c = 0xffffffff
  for (const b of buf) c = CRC[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

function png(size: number, maskable: boolean): Buffer {
  const samples = 4
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0 // filter: none
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0]
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const c = shade((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size, maskable)
          if (!c) continue
          for (let i = 0; i < 3; i++) acc[i]! += c[i]! * c[3]
          acc[3]! += c[3]
        }
      }
      const o = py * (size * 4 + 1) + 1 + px * 4
      const alpha = acc[3]!
      for (let i = 0; i < 3; i++) raw[o + i] = alpha ? Math.round(acc[i]! / alpha) : 0
      raw[o + 3] = Math.round(alpha / (samples * samples))
    }
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 6 // RGBA
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons')
writeFileSync(join(out, 'icon-192.png'), png(192, false))
writeFileSync(join(out, 'icon-512.png'), png(512, false))
writeFileSync(join(out, 'icon-maskable-512.png'), png(512, true))
writeFileSync(join(out, 'apple-touch-icon-180.png'), png(180, true))
console.log(`icons written to ${out}`)
