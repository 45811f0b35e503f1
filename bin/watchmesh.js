#!/usr/bin/env -S node --max-semi-space-size=1
// V8's young generation is held at its starting size (1 MB per semi-space), for the whole run. By
// default V8 doubles it under the daemon's steady allocation, to 32 MB in all, and with it RSS:
// in one 60-min soak the daemon on V8's defaults peaked at 98.1 MB in the first half of the playing
// phase and 111.4 MB in the second, the one with this flag at 89.5 and 89.8 MB (0.7 MB/h over the
// second half), for 2.1 % of a core while playing instead of 1.9 %. Only a flag at node's start
// does this; set at run time it did not hold. npm's Windows shim reads the flag from this line too; a caller who runs
// `node bin/watchmesh.js` passes its own flags (test/fixtures/watchmesh.ts reads them from here).
import { main } from '../dist/src/cli/main.js'
process.exitCode = await main(process.argv.slice(2))
