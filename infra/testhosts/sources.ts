// The Debian mirror for debootstrap: the one apt on this machine already uses,
// read from /etc/apt/sources.list (one-line format) and sources.list.d
// (*.list and deb822 *.sources). Never a hard-coded host.
import fs from 'node:fs';
import path from 'node:path';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
}

/** Parses one-line `deb [opts] uri suite comp...` entries. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const withoutOpts = line.replace(/\[[^\]]*\]/, ' ');
    const [type, uri, suite, ...components] = withoutOpts.split(/\s+/).filter(Boolean);
    if (!type || !uri || !suite) continue;
    out.push({ types: [type], uris: [uri], suites: [suite], components });
  }
  return out;
}

/** Parses deb822 stanzas (`Types:`, `URIs:`, `Suites:`, `Components:`, `Enabled:`). */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1].toLowerCase();
        fields.set(last, m[2].trim());
      }
    }
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const list = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (list('types').length && list('uris').length && list('suites').length) {
      out.push({ types: list('types'), uris: list('uris'), suites: list('suites'), components: list('components') });
    }
  }
  return out;
}

/** The first `deb` source that carries `<suite> main` (not -updates, -security or third-party suites). */
export function pickMirror(sources: AptSource[], suite: string): string | undefined {
  for (const s of sources) {
    if (s.types.includes('deb') && s.suites.includes(suite) && s.components.includes('main')) return s.uris[0];
  }
  return undefined;
}

export function readAptSources(root = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  sources.push(...parseOneLineSources(read(path.join(root, 'sources.list'))));
  const dir = path.join(root, 'sources.list.d');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  for (const f of files) {
    if (f.endsWith('.list')) sources.push(...parseOneLineSources(read(path.join(dir, f))));
    if (f.endsWith('.sources')) sources.push(...parseDeb822Sources(read(path.join(dir, f))));
  }
  return sources;
}

/** The machine's Debian codename (`bookworm`), from /etc/os-release. */
export function debianCodename(osRelease = '/etc/os-release'): string {
  const text = fs.readFileSync(osRelease, 'utf8');
  const m = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(text);
  if (!m) throw new Error(`${osRelease}: no VERSION_CODENAME; the test hosts need a Debian machine`);
  return m[1];
}
