/**
 * The passphrase is the room's only secret: whoever knows it can join and control playback.
 * `watchmesh passphrase` makes strong, pronounceable ones; `join` warns about weak ones.
 */
import { randomInt } from 'node:crypto'
import type { ZxcvbnFactory } from '@zxcvbn-ts/core'
import type { Io } from './io.js'
import { managedPassphrase } from '../mesh/operator.js'

const CONSONANTS = 'bdfgklmnprstvz'
const VOWELS = 'aeiou'
/** 5 words of 3 consonant-vowel syllables: (14*5)^15 ≈ 2^92 — far beyond guessing, even with 16 bits given away by the topic. */
const WORDS = 5
const SYLLABLES_PER_WORD = 3

/**
 * Below this estimate a passphrase is worth a warning: its guesses are online (one per connection
 * to a member), but the topic gives 16 bits of it away and a busy guesser can dial all day.
 */
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

/** The estimator reads this much of a passphrase: beyond it, no guesser's model adds anything (and it stays fast). */
const MAX_ESTIMATED_CHARS = 128

let estimator: Promise<ZxcvbnFactory> | null = null

/**
 * Bits a guesser needs, from zxcvbn (its log10 of guesses): dictionaries of common passwords,
 * names and English words, keyboard walks, repeats, sequences, dates and l33t substitutions.
 * The dictionaries take 1-3 s to load, so they are loaded on first use only (no other command
 * pays for them), and `join` runs this in a worker thread (strength.ts), off the event loop.
 */
export async function estimateBits (passphrase: string): Promise<number> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')
    ])
    return new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations })
  })()
  return (await estimator).check(passphrase.slice(0, MAX_ESTIMATED_CHARS)).guessesLog10 * Math.log2(10)
}

export async function isWeak (passphrase: string): Promise<boolean> {
  return (await estimateBits(passphrase)) < WEAK_BELOW_BITS
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
