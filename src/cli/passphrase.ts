/**
 * The passphrase is the room's only secret: whoever knows it can join and control playback.
 * `watchmesh passphrase` makes strong, pronounceable ones; `join` warns about weak ones.
 */
import { randomInt } from 'node:crypto'
import type { Io } from './io.js'
import { managedPassphrase } from '../mesh/operator.js'

const CONSONANTS = 'bdfgklmnprstvz'
const VOWELS = 'aeiou'
/** 5 words of 3 consonant-vowel syllables: (14*5)^15 ≈ 2^92 — far beyond guessing, even offline. */
const WORDS = 5
const SYLLABLES_PER_WORD = 3

/** Below this estimate a passphrase is worth a warning (an offline guesser on the topic hash). */
export const WEAK_BELOW_BITS = 60

export function generatePassphrase (random: (max: number) => number = randomInt): string {
  const words: string[] = []
  for (let w = 0; w < WORDS; w++) {
    let word = ''
    for (let s = 0; s < SYLLABLES_PER_WORD; s++) {
      word += CONSONANTS[random(CONSONANTS.length)]! + VOWELS[random(VOWELS.length)]!
    }
    words.push(word)
  }
  return words.join('-')
}

/** Words people reach for first; each is worth little more than its rank in a guesser's list. */
const COMMON_WORDS = new Set(('movie night film party watch watching together friends family show series ' +
  'the a an and of my our your we us room club cinema tv netflix anime season episode password secret ' +
  'love hello test home house fun friday saturday sunday weekend club date couple game time best cool')
  .split(' '))

/**
 * A deliberately conservative estimate of how many bits a guesser needs. Common words count ~8 bits,
 * other letter runs ~2.6 bits per letter (pronounceable text), digits 3.3 bits each, mixed tokens by
 * their character classes. A heuristic, not a proof: it exists to catch "movie night".
 */
export function estimateBits (passphrase: string): number {
  let bits = 0
  for (const token of passphrase.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (token.length === 0) continue
    if (COMMON_WORDS.has(token)) bits += 8
    else if (/^\p{N}+$/u.test(token)) bits += token.length * Math.log2(10)
    else if (/^\p{L}+$/u.test(token)) bits += token.length * 2.6
    else bits += token.length * Math.log2(36)
  }
  const symbols = passphrase.replace(/[\p{L}\p{N}\s]/gu, '').length
  return bits + symbols * 2
}

export function isWeak (passphrase: string): boolean {
  return estimateBits(passphrase) < WEAK_BELOW_BITS
}

export function runPassphrase (io: Io, opts: { managed?: boolean } = {}): number {
  if (opts.managed !== true) {
    io.out.write(generatePassphrase() + '\n')
    return 0
  }
  const operatorSecret = generatePassphrase()
  const viewers = managedPassphrase(generatePassphrase(), operatorSecret)
  io.out.write([
    'A managed room: only operators control playback.',
    '',
    `For everyone (share it):  ${viewers}`,
    `For operators only:       ${operatorSecret}`,
    '',
    'Viewers:   watchmesh join "<the passphrase for everyone>"',
    'Operators: put the operator secret in a file only you can read, then',
    '           watchmesh join "<the passphrase for everyone>" --operator-file <that file>',
    ''
  ].join('\n'))
  return 0
}
