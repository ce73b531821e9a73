// The markdown subset of message content (docs/protocol.md, Message formatting): parse(text)
// gives a small tree, plainText(text) its words without markers. No DOM and no HTML here
// (js/formatted.js makes the nodes). Linear in the text: no backtracking regex, emphasis by
// a delimiter list (as CommonMark does), nesting bounded. Longer than 300 lines because it is
// one parser, blocks and inline together. Mirrored by
// services/notifications/domain/formatting.py: change both, and tests/fixtures/formatting_cases.json.

const MAX_QUOTE_DEPTH = 3;
const MAX_EMPHASIS_DEPTH = 8;
const FENCE = /^ {0,3}```(.*)$/s;
const FENCE_END = /^ {0,3}```\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/s;
const BULLET = /^ {0,3}[-*] +(.*)$/s;
const ORDERED = /^ {0,3}(\d{1,9})[.)] +(.*)$/s;
const ESCAPABLE = '\\`*_~[]()#@<>!';
const URL_AT = /https?:\/\/[^\s<>`]+/iy;
const ANGLE_URL_AT = /<(https?:\/\/[^\s<>`]+)>/iy;
const LINK_TARGET_AT = /\((https?:\/\/[^\s()<>`]+)\)/iy;
const HAS_HOST = /^https?:\/\/[^/?#\s]/i;
const URL_TRAILING = '.,:;!?\'"*_~';
// The server's rule (services/chat/domain/model.py MENTION_RE); what comes before is checked apart.
const MENTION_AT = /@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])/y;
const BEFORE_MENTION_BAD = /[\w@.]/;
const ROOM_AT = /#([\p{L}\p{N}_][\p{L}\p{N}_.-]{0,99})/uy;
const BEFORE_ROOM_OK = /[\s([{"'*_~>,;:]/;
const WORD = /[A-Za-z0-9]/;
const SPACE = /\s/;
const PUNCT = /[\p{P}\p{S}]/u;

/** The tree of `text`: {type: 'doc', children: blocks}. */
export function parse(text) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  return { type: 'doc', children: parseBlocks(lines, 0) };
}

/** `text` as words without markers: what a preview shows. */
export function plainText(text) {
  return blocksPlain(parse(text).children);
}

// --- blocks: code fences, quotes, lists, paragraphs --------------------------------------

function fenceOf(line) {
  const m = FENCE.exec(line);
  return m && !m[1].includes('`') ? m : null;
}

function startsBlock(line, depth) {
  return fenceOf(line) !== null || (depth < MAX_QUOTE_DEPTH && QUOTE.test(line))
    || BULLET.test(line) || ORDERED.test(line);
}

function parseBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i += 1;
    } else if ((m = fenceOf(line))) {
      const body = [];
      for (i += 1; i < lines.length && !FENCE_END.test(lines[i]); i += 1) body.push(lines[i]);
      i += 1; // the closing fence; an unclosed block runs to the end
      blocks.push({ type: 'code_block', lang: m[1].trim().split(/\s/)[0].slice(0, 30),
        text: body.join('\n') });
    } else if (depth < MAX_QUOTE_DEPTH && QUOTE.test(line)) {
      const inner = [];
      for (; i < lines.length && (m = QUOTE.exec(lines[i])); i += 1) inner.push(m[1]);
      blocks.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
    } else if (BULLET.test(line) || ORDERED.test(line)) {
      const ordered = !BULLET.test(line);
      const marker = ordered ? ORDERED : BULLET;
      const list = { type: 'list', ordered, start: ordered ? Number(ORDERED.exec(line)[1]) : 1,
        items: [] };
      for (; i < lines.length && (m = marker.exec(lines[i])); i += 1) {
        list.items.push({ type: 'item', children: parseInline(m[ordered ? 2 : 1], true) });
      }
      blocks.push(list);
    } else {
      const para = [line];
      for (i += 1; i < lines.length && lines[i].trim() && !startsBlock(lines[i], depth); i += 1) {
        para.push(lines[i]);
      }
      blocks.push({ type: 'paragraph', children: parseInline(para.join('\n'), true) });
    }
  }
  return blocks;
}

// --- inline: code, links, mentions, rooms, then emphasis over a linked list ------------------

function charBefore(text, i) {
  if (i <= 0) return '';
  const code = text.charCodeAt(i - 1);
  return code >= 0xdc00 && code <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1];
}

function charAfter(text, i) {
  if (i >= text.length) return '';
  return String.fromCodePoint(text.codePointAt(i));
}

function flanking(before, after) {
  const spaceBefore = before === '' || SPACE.test(before);
  const spaceAfter = after === '' || SPACE.test(after);
  const punctBefore = PUNCT.test(before);
  const punctAfter = PUNCT.test(after);
  const left = !spaceAfter && (!punctAfter || spaceBefore || punctBefore);
  const right = !spaceBefore && (!punctBefore || spaceAfter || punctAfter);
  return { left, right, punctBefore, punctAfter };
}

/** The end of a URL that starts at 0 of `url`: trailing punctuation and unmatched ")" are not it. */
function trimUrl(url) {
  let end = url.length;
  let opens = 0;
  let closes = 0;
  for (const ch of url) {
    if (ch === '(') opens += 1;
    else if (ch === ')') closes += 1;
  }
  while (end > 0) {
    const ch = url[end - 1];
    if (URL_TRAILING.includes(ch)) end -= 1;
    else if (ch === ')' && closes > opens) { end -= 1; closes -= 1; } else break;
  }
  return url.slice(0, end);
}

/** Where each backtick run starts, by its length: the closers a code span may end at. */
function backtickRuns(text) {
  const runs = new Map();
  for (let i = 0; i < text.length;) {
    if (text[i] !== '`') { i += 1; continue; }
    let j = i;
    while (text[j] === '`') j += 1;
    if (!runs.has(j - i)) runs.set(j - i, { at: [], next: 0 });
    runs.get(j - i).at.push(i);
    i = j;
  }
  return runs;
}

function push(list, node) {
  node.prev = list.tail;
  node.next = null;
  if (list.tail) list.tail.next = node; else list.head = node;
  list.tail = node;
}

/** `links`: false inside a link's text, where no other link may start. */
function parseInline(text, links) {
  const list = { head: null, tail: null };
  const delims = { head: null, tail: null, count: 0 };
  const runs = backtickRuns(text);
  const nextOf = { ']': -2, '[': -2 };
  let buffer = '';
  const flush = () => {
    if (buffer) push(list, { type: 'text', text: buffer });
    buffer = '';
  };
  const add = (node) => { flush(); push(list, node); };
  const find = (ch, from) => {
    if (nextOf[ch] !== -1 && nextOf[ch] < from) nextOf[ch] = text.indexOf(ch, from);
    return nextOf[ch];
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    let m;
    if (ch === '\\' && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
    } else if (ch === '`') {
      let n = 0;
      while (text[i + n] === '`') n += 1;
      const run = runs.get(n);
      while (run && run.next < run.at.length && run.at[run.next] <= i) run.next += 1;
      if (run && run.next < run.at.length) {
        const end = run.at[run.next];
        let code = text.slice(i + n, end).replace(/\n/g, ' ');
        if (code[0] === ' ' && code[code.length - 1] === ' ' && code.trim()) {
          code = code.slice(1, -1);
        }
        add({ type: 'code', text: code });
        i = end + n;
      } else {
        buffer += '`'.repeat(n);
        i += n;
      }
    } else if (ch === '<' && links && (ANGLE_URL_AT.lastIndex = i, m = ANGLE_URL_AT.exec(text))
      && HAS_HOST.test(m[1])) {
      add({ type: 'link', href: m[1], children: [{ type: 'text', text: m[1] }], auto: true });
      i += m[0].length;
    } else if (ch === '[' && links && (m = linkAt(text, i, find))) {
      add(m.node);
      i = m.end;
    } else if ((ch === 'h' || ch === 'H') && links && !WORD.test(charBefore(text, i))
      && (URL_AT.lastIndex = i, m = URL_AT.exec(text)) && HAS_HOST.test(trimUrl(m[0]))) {
      const url = trimUrl(m[0]);
      add({ type: 'link', href: url, children: [{ type: 'text', text: url }], auto: true });
      i += url.length;
    } else if (ch === '@' && !BEFORE_MENTION_BAD.test(charBefore(text, i))
      && (MENTION_AT.lastIndex = i, m = MENTION_AT.exec(text))) {
      add({ type: 'mention', name: m[1], text: m[0] });
      i += m[0].length;
    } else if (ch === '#' && (i === 0 || BEFORE_ROOM_OK.test(charBefore(text, i)))
      && (ROOM_AT.lastIndex = i, m = ROOM_AT.exec(text))) {
      const name = m[1].replace(/[.-]+$/, '');
      add({ type: 'room', name, text: `#${name}` });
      i += name.length + 1;
    } else if (ch === '*' || ch === '_' || ch === '~') {
      let n = 0;
      while (text[i + n] === ch) n += 1;
      if (ch === '~' && n !== 2) {
        buffer += ch.repeat(n);
      } else {
        const f = flanking(charBefore(text, i), charAfter(text, i + n));
        const canOpen = ch === '_' ? f.left && (!f.right || f.punctBefore) : f.left;
        const canClose = ch === '_' ? f.right && (!f.left || f.punctAfter) : f.right;
        const node = { type: 'delim', char: ch, count: n, orig: n, canOpen, canClose,
          pos: delims.count += 1, dprev: delims.tail, dnext: null };
        add(node);
        if (canOpen || canClose) {
          if (delims.tail) delims.tail.dnext = node; else delims.head = node;
          delims.tail = node;
        } else node.dprev = null;
      }
      i += n;
    } else {
      buffer += ch;
      i += 1;
    }
  }
  flush();
  emphasis(list, delims);
  return toArray(list.head);
}

/** `[text](https://...)` at `i`: only http and https; the text holds no brackets. */
function linkAt(text, i, find) {
  const close = find(']', i + 1);
  if (close < 0) return null;
  const open = find('[', i + 1);
  if (open !== -1 && open < close) return null;
  if (text[close + 1] !== '(') return null;
  LINK_TARGET_AT.lastIndex = close + 1;
  const m = LINK_TARGET_AT.exec(text);
  if (!m || !HAS_HOST.test(m[1])) return null;
  const label = text.slice(i + 1, close);
  const children = label.trim() ? parseInline(label, false) : [{ type: 'text', text: m[1] }];
  return { node: { type: 'link', href: m[1], children, auto: false }, end: close + 1 + m[0].length };
}

function unlinkDelim(delims, d) {
  if (d.dprev) d.dprev.dnext = d.dnext; else delims.head = d.dnext;
  if (d.dnext) d.dnext.dprev = d.dprev; else delims.tail = d.dprev;
  d.dprev = null;
  d.dnext = null;
}

function unlinkNode(list, node) {
  if (node.prev) node.prev.next = node.next; else list.head = node.next;
  if (node.next) node.next.prev = node.prev; else list.tail = node.prev;
}

/** CommonMark's "process emphasis", with its openers_bottom so that it stays linear. */
function emphasis(list, delims) {
  const bottom = new Map();
  let closer = delims.head;
  while (closer) {
    if (!closer.canClose) { closer = closer.dnext; continue; }
    const key = closer.char === '~' ? '~' : `${closer.char}${closer.canOpen}${closer.orig % 3}`;
    const floor = bottom.get(key) || 0;
    let opener = closer.dprev;
    while (opener && opener.pos > floor) {
      if (opener.char === closer.char && opener.canOpen) {
        const oddMatch = closer.char !== '~' && (opener.canClose || closer.canOpen)
          && (opener.orig + closer.orig) % 3 === 0
          && !(opener.orig % 3 === 0 && closer.orig % 3 === 0);
        if (!oddMatch) break;
      }
      opener = opener.dprev;
    }
    // Deeper than anyone types is left as text, as if no opener matched.
    if (!opener || opener.pos <= floor || depthBetween(opener, closer) >= MAX_EMPHASIS_DEPTH) {
      bottom.set(key, closer.dprev ? closer.dprev.pos : 0);
      const next = closer.dnext;
      if (!closer.canOpen) unlinkDelim(delims, closer);
      closer = next;
      continue;
    }
    const use = closer.char === '~' ? 2 : (opener.count >= 2 && closer.count >= 2 ? 2 : 1);
    const type = closer.char === '~' ? 'strike' : (use === 2 ? 'strong' : 'em');
    for (let d = closer.dprev; d && d !== opener;) {
      const before = d.dprev;
      unlinkDelim(delims, d);
      d = before;
    }
    wrap(opener, closer, type);
    opener.count -= use;
    closer.count -= use;
    if (opener.count === 0) { unlinkDelim(delims, opener); unlinkNode(list, opener); }
    if (closer.count === 0) {
      const next = closer.dnext;
      unlinkDelim(delims, closer);
      unlinkNode(list, closer);
      closer = next;
    }
  }
}

function depthBetween(opener, closer) {
  let depth = 0;
  for (let n = opener.next; n && n !== closer; n = n.next) depth = Math.max(depth, n.depth || 0);
  return depth;
}

/** The nodes between `opener` and `closer` become one node's children, in O(1) links. */
function wrap(opener, closer, type) {
  const first = opener.next === closer ? null : opener.next;
  const node = { type, depth: depthBetween(opener, closer) + 1, first, prev: opener, next: closer };
  if (first) { first.prev = null; closer.prev.next = null; }
  opener.next = node;
  closer.prev = node;
}

function toArray(head) {
  const out = [];
  for (let n = head; n; n = n.next) {
    let item;
    if (n.type === 'delim') item = { type: 'text', text: n.char.repeat(n.count) };
    else if (n.type === 'strong' || n.type === 'em' || n.type === 'strike') {
      item = { type: n.type, children: toArray(n.first) };
    } else if (n.type === 'text') item = { type: 'text', text: n.text };
    else {
      const { prev, next, ...rest } = n;
      item = rest;
    }
    const last = out[out.length - 1];
    if (item.type === 'text' && last && last.type === 'text') last.text += item.text;
    else if (item.type !== 'text' || item.text) out.push(item);
  }
  return out;
}

// --- plain text ------------------------------------------------------------------------------

function inlinePlain(nodes) {
  let out = '';
  for (const n of nodes) {
    if (n.type === 'text' || n.type === 'code' || n.type === 'mention' || n.type === 'room') {
      out += n.text;
    } else out += inlinePlain(n.children);
  }
  return out;
}

function blocksPlain(blocks) {
  const out = [];
  for (const b of blocks) {
    if (b.type === 'paragraph') out.push(inlinePlain(b.children));
    else if (b.type === 'code_block') out.push(b.text);
    else if (b.type === 'quote') out.push(blocksPlain(b.children));
    else {
      b.items.forEach((item, k) => {
        out.push(`${b.ordered ? `${b.start + k}.` : '•'} ${inlinePlain(item.children)}`);
      });
    }
  }
  return out.join('\n');
}
