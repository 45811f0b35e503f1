/**
 * Media identity from MPRIS Metadata. Viewers compare files by basename (each plays their own
 * copy, so full paths differ), else by title; players differ in which keys they fill in. The length
 * is not part of the identity: players fill it in late (mpv once the file is decoded), and two rips
 * of one episode differ by a few frames.
 */
import { basename } from 'node:path'
import type { MediaInfo } from './player.js'
import { asNumber, asRecord, asString } from './values.js'

/** Titles and urls from a player are shown to people and sent to peers: keep them bounded. */
const MAX_TEXT_CHARS = 512

export interface ParsedMetadata {
  media: MediaInfo | null
  /** `mpris:trackid`, needed by SetPosition (a stale one is silently ignored by mpv). */
  trackId: string | null
}

export function parseMetadata (metadata: unknown): ParsedMetadata {
  const m = asRecord(metadata) ?? {}
  const trackId = asString(m['mpris:trackid'])
  const lengthUs = asNumber(m['mpris:length'])
  const lengthMs = lengthUs !== null && lengthUs > 0 ? Math.round(lengthUs / 1000) : null
  // A trackid alone names no media: mpv-mpris says `/noplaylist` while idle, others `.../NoTrack`.
  return { media: mediaInfo(asString(m['xesam:url']), asString(m['xesam:title']), lengthMs), trackId }
}

/** The media a player shows, from its url (or path), title and length; null when nothing names it. */
export function mediaInfo (rawUrl: string | null, rawTitle: string | null, lengthMs: number | null): MediaInfo | null {
  const url = clip(rawUrl)
  const title = clip(rawTitle)
  const file = url === null ? null : fileName(url)
  const name = file ?? title
  if (name === null || name === '') return null
  return { id: name, name, title, url, lengthMs }
}

/**
 * Whether two readings describe the same media item. Players fill Metadata in steps (mpv adds
 * mpris:length once the file is decoded), so a reading that only adds what was missing is the same
 * item; mpv keeps the trackid `/0` across files, so the url decides first.
 */
export function sameMedia (a: MediaInfo | null, b: MediaInfo | null): boolean {
  if (a === null || b === null) return a === b
  if (a.url !== null && b.url !== null) return a.url === b.url
  if (a.title !== null && b.title !== null) return a.title === b.title
  return a.name === b.name
}

/**
 * The latest url and its file name. A playing player's Metadata is read ten times a second and
 * names the same file every time; parsing the url (new URL, decoding) was ~6 % of a playing
 * daemon's CPU. One entry: bounded, and right for the one file a player shows at a time.
 */
let lastFile: { url: string, name: string | null } | null = null

function fileName (url: string): string | null {
  if (lastFile?.url === url) return lastFile.name
  const name = parseFileName(url)
  lastFile = { url, name }
  return name
}

function parseFileName (url: string): string | null {
  let path = url
  try {
    path = decodeURIComponent(new URL(url).pathname)
  } catch {} // not a URL: treat it as a path
  const name = basename(path)
  return name === '' ? null : name
}

function clip (s: string | null): string | null {
  return s === null ? null : s.slice(0, MAX_TEXT_CHARS)
}
