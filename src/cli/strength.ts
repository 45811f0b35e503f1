/**
 * The passphrase strength check of `join`, in a worker thread: loading zxcvbn's dictionaries takes
 * seconds on a busy machine, and the daemon's event loop must meanwhile find the room and keep
 * time. Resolves null when the worker fails (the check is advice, never a reason to stop).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { estimateBits } from './passphrase.js'

const SELF = fileURLToPath(import.meta.url)

export function estimateBitsInWorker (passphrase: string): Promise<number | null> {
  return new Promise(resolve => {
    const worker = new Worker(SELF, { workerData: passphrase })
    worker.unref()
    worker.once('message', (bits: number) => { resolve(bits); void worker.terminate() })
    worker.once('error', () => resolve(null))
    worker.once('exit', () => resolve(null))
  })
}

if (!isMainThread && parentPort !== null && typeof workerData === 'string') {
  const port = parentPort
  void estimateBits(workerData).then(bits => port.postMessage(bits))
}
