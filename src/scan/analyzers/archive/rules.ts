// Rules of archive and compressed-stream handling (documented in docs/rules.md).
import { defineRules } from '../../rules.js';

const DOCS = 'docs/rules.md';

export const ARCHIVE_RULES = defineRules([
  {
    id: 'RMP-ARCHIVE-001',
    severity: 'high',
    title: 'Duplicate archive member names',
    description: 'Several members share a name. Which one a loader reads depends on the implementation (first or last), so a scanner and a loader can see different content.',
    remediation: 'Rebuild the archive with unique names.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-002',
    severity: 'high',
    title: 'Local and central zip headers disagree',
    description: 'The local header of a member differs from its central-directory record (name, method, sizes, CRC, encryption flag). Streaming and central-directory readers then extract different content.',
    remediation: 'Rebuild the archive with a standard tool; do not load it as is.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-003',
    severity: 'medium',
    title: 'Data prepended to a zip archive',
    description: 'Bytes precede the zip archive (polyglot file). Loaders that check the first bytes (PyTorch checks for a zip header) read the prefix instead, e.g. as a legacy pickle. The prefix is scanned as `<prefix>`.',
    remediation: 'Strip the prefix or rebuild the archive.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-004',
    severity: 'high',
    title: 'Overlapping archive members',
    description: 'Members share bytes (a technique of zip bombs and of ambiguous archives).',
    remediation: 'Do not extract or load the archive.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-005',
    severity: 'high',
    title: 'Malformed archive structure',
    description: 'Headers point outside the file, entry counts disagree, or a record is missing; parts of the archive may be invisible to this or other readers.',
    remediation: 'Rebuild the archive from its source.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-006',
    severity: 'medium',
    title: 'Archive member path escapes the extraction folder',
    description: 'A member name is absolute or contains `..`, or a tar member is a link: extracting the archive can write outside the target folder.',
    remediation: 'Extract only with a tool that refuses such paths, or rebuild the archive.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-007',
    severity: 'high',
    title: 'Hidden zip member',
    description: 'A local file entry is not listed in the central directory. Streaming unzippers extract it, central-directory readers do not. It was scanned as `<hidden>/name`.',
    remediation: 'Do not load the archive; rebuild it from its source.',
    links: [DOCS],
  },
  {
    id: 'RMP-ARCHIVE-008',
    severity: 'medium',
    title: 'Corrupt compressed data',
    description: 'A compressed stream or member is corrupt (bad CRC, early end, invalid data). The part that could be decoded was scanned.',
    remediation: 'Re-download or rebuild the file.',
    links: [DOCS],
  },
] as const);
