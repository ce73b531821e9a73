// Message content as formatted nodes: the tree of js/markdown.js made of elements and text
// nodes only (no HTML is ever parsed), links to http(s) only, opened apart from the page.

import { clear, el } from './dom.js';
import { parse } from './markdown.js';
import { state } from './state.js';

const INLINE_TAGS = { strong: 'strong', em: 'em', strike: 's' };

/** `text` formatted into `node`; `me` (a username) gets its mentions marked `mention-me`. */
export function renderMessage(node, text, me) {
  clear(node);
  node.append(render(parse(text), { me, roomId: visibleRoomId }));
}

/** The id of the room called `name` that this page lists, else null (exact name first). */
function visibleRoomId(name) {
  let loose = null;
  const key = name.toLowerCase();
  for (const room of state.rooms.values()) {
    if (room.name === name) return room.id;
    if (loose === null && room.name.toLowerCase() === key) loose = room.id;
  }
  return loose;
}

/** A DocumentFragment for `tree`; ctx: {me, roomId(name) -> id or null}. A message of one
 *  paragraph is its inline nodes alone, as a message was before formatting. */
export function render(tree, ctx = {}) {
  const out = document.createDocumentFragment();
  const blocks = tree.children;
  if (blocks.length === 1 && blocks[0].type === 'paragraph') {
    appendInline(out, blocks[0].children, ctx);
  } else appendBlocks(out, blocks, ctx);
  return out;
}

function appendBlocks(parent, blocks, ctx) {
  for (const block of blocks) {
    if (block.type === 'paragraph') {
      const p = el('p', { class: 'md-p' });
      appendInline(p, block.children, ctx);
      parent.append(p);
    } else if (block.type === 'code_block') {
      const wrapper = el('div', { class: 'code-block' });
      if (block.lang) wrapper.append(el('span', { class: 'code-lang', text: block.lang }));
      wrapper.append(el('pre', {}, el('code', { text: block.text })));
      parent.append(wrapper);
    } else if (block.type === 'quote') {
      const quote = el('blockquote');
      appendBlocks(quote, block.children, ctx);
      parent.append(quote);
    } else if (block.type === 'list') {
      const list = el(block.ordered ? 'ol' : 'ul',
        { start: block.ordered && block.start !== 1 ? block.start : null });
      for (const item of block.items) {
        const li = el('li');
        appendInline(li, item.children, ctx);
        list.append(li);
      }
      parent.append(list);
    }
  }
}

function safeHref(href) {
  try {
    const url = new URL(href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function appendInline(parent, nodes, ctx) {
  const mine = (ctx.me || '').toLowerCase();
  for (const node of nodes) {
    if (node.type === 'text') {
      parent.append(document.createTextNode(node.text));
    } else if (node.type === 'code') {
      parent.append(el('code', { text: node.text }));
    } else if (INLINE_TAGS[node.type]) {
      const tag = el(INLINE_TAGS[node.type]);
      appendInline(tag, node.children, ctx);
      parent.append(tag);
    } else if (node.type === 'link') {
      const href = safeHref(node.href);
      const target = href ? el('a', { class: 'md-link', href, title: href, target: '_blank',
        rel: 'noopener noreferrer' }) : document.createDocumentFragment();
      appendInline(target, node.children, ctx);
      parent.append(target);
    } else if (node.type === 'mention') {
      const name = node.name.toLowerCase();
      parent.append(el('span', { class: name === mine || name === 'room' ? 'mention mention-me'
        : 'mention', text: node.text }));
    } else if (node.type === 'room') {
      const id = ctx.roomId ? ctx.roomId(node.name) : null;
      parent.append(id === null || id === undefined ? document.createTextNode(node.text)
        : el('a', { class: 'room-link', href: `#/rooms/${id}`, dataset: { roomId: String(id) },
          text: node.text }));
    }
  }
}
