// For apps without a bundler: writes dist-js/index.js as one ES module that takes `invoke` and
// `Channel` from `window.__TAURI__.core` (the app sets `app.withGlobalTauri: true`) instead of
// importing '@tauri-apps/api/core'.
//
//   node scripts/global-esm.mjs [OUT_FILE]     (default: dist-js/global.js)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = process.argv[2] ?? join(root, 'dist-js', 'global.js')
const src = readFileSync(join(root, 'dist-js', 'index.js'), 'utf8')
const from = "import { Channel, invoke } from '@tauri-apps/api/core';"
if (!src.includes(from)) {
  console.error(`dist-js/index.js no longer has the line: ${from}`)
  process.exit(1)
}
const header =
  '// Generated from guest-js/index.ts by tauri-plugin-oss-direct/scripts/global-esm.mjs: do not edit.\n'
const to =
  "const { Channel, invoke } = window.__TAURI__?.core ?? {\n" +
  "  invoke: () => Promise.reject({ kind: 'input', code: null, message: 'This page runs outside the app: no back end.' }),\n" +
  '  Channel: class { onmessage() {} },\n' +
  '};'
writeFileSync(out, header + src.replace(from, to))
console.log(`wrote ${out}`)
