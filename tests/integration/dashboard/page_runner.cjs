// Runs services/dashboard/static/dashboard.js under Node against a live dashboard, with just
// enough of a DOM for the page's code (no browser here). Usage:
//   node page_runner.cjs <base url> <path to dashboard.js> <scenario JSON>
// The scenario says what to wait for; the result (texts of elements) is printed as JSON.
'use strict';

const fs = require('fs');
const vm = require('vm');

const [base, script, scenarioJson] = process.argv.slice(2);
const scenario = JSON.parse(scenarioJson);

class Element {
  constructor(tag, id) {
    this.tagName = tag.toUpperCase();
    this.id = id || '';
    this.children = [];
    this.ownText = '';
    this.className = '';
    this.hidden = false;
    this.style = {};
    this.value = '';
    this.maxLength = 4000;
    this.listeners = {};
    this.attributes = {};
    this.parent = null;
    this.classList = {
      add: (c) => { this.className = `${this.className} ${c}`.trim(); },
      remove: (c) => { this.className = this.className.split(' ').filter((x) => x !== c).join(' '); },
    };
    this.width = 0;
    this.height = 0;
    this.clientWidth = 600;
    this.clientHeight = 190;
  }

  get textContent() {
    if (!this.children.length) return this.ownText;
    return this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join(' ');
  }

  set textContent(value) { this.children = []; this.ownText = String(value); }

  get lastChild() { return this.children[this.children.length - 1]; }

  append(...nodes) {
    for (const n of nodes) { if (n instanceof Element) n.parent = this; this.children.push(n); }
  }

  prepend(...nodes) {
    for (const n of nodes) { if (n instanceof Element) n.parent = this; }
    this.children.unshift(...nodes);
  }

  replaceChildren(...nodes) { this.children = []; this.ownText = ''; this.append(...nodes); }

  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
  }

  closest() { return this.parent || new Element('div'); }

  insertRow() { const row = new Element('tr'); this.append(row); return row; }

  insertCell() { const cell = new Element('td'); this.append(cell); return cell; }

  setAttribute(name, value) { this.attributes[name] = String(value); }

  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }

  focus() {}

  getContext() {
    return new Proxy({}, { get: (target, prop) => (prop in target ? target[prop] : () => {}),
      set: (target, prop, value) => { target[prop] = value; return true; } });
  }
}

const elements = new Map();
const documentListeners = {};
const document = {
  documentElement: new Element('html'),
  getElementById(id) {
    if (!elements.has(id)) elements.set(id, new Element(id === 'token' ? 'input' : 'div', id));
    return elements.get(id);
  },
  createElement: (tag) => new Element(tag),
  querySelectorAll: () => [],
  addEventListener(type, fn) { (documentListeners[type] = documentListeners[type] || []).push(fn); },
};
// The page starts with the auth card hidden, as in the HTML.
document.getElementById('auth').hidden = true;
document.getElementById('sign-out').hidden = true;
document.getElementById('broadcast-text').maxLength = 4000;

const storage = new Map();
const location = { href: base + scenario.path };
const realFetch = globalThis.fetch;
Object.assign(globalThis, {
  document,
  window: { location, devicePixelRatio: 1 },
  history: { replaceState(state, title, url) { location.href = new URL(url, location.href).href; } },
  sessionStorage: {
    getItem: (k) => (storage.has(k) ? storage.get(k) : null),
    setItem: (k, v) => storage.set(k, String(v)),
    removeItem: (k) => storage.delete(k),
  },
  getComputedStyle: () => ({ getPropertyValue: () => '#336699' }),
  fetch: (url, options) => realFetch(new URL(url, base), options),
});

process.on('unhandledRejection', (err) => { console.error('unhandled:', err); process.exit(3); });
vm.runInThisContext(fs.readFileSync(script, 'utf8'), { filename: 'dashboard.js' });
for (const fn of documentListeners.DOMContentLoaded || []) fn();

const text = (id) => document.getElementById(id).textContent;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what) {
  const deadline = Date.now() + 10000;
  while (!check()) {
    if (Date.now() > deadline) {
      console.error(`timed out waiting for ${what}; link=${text('link')}`);
      process.exit(2);
    }
    await sleep(25);
  }
}

(async () => {
  for (const [id, expected] of Object.entries(scenario.wait_for)) {
    await waitFor(() => text(id) === expected, `${id} == ${expected}`);
  }
  if (scenario.broadcast) {
    document.getElementById('broadcast-text').value = scenario.broadcast;
    for (const fn of document.getElementById('broadcast-form').listeners.submit) {
      fn({ preventDefault() {} });
    }
    await waitFor(() => /^(Delivered|Sent|Not sent)/.test(text('broadcast-result')),
      'the broadcast result');
    await waitFor(() => text('broadcasts').includes(scenario.broadcast), 'the broadcast listed');
  }
  const result = { url: location.href, token_kept: storage.size > 0, auth_hidden: document.getElementById('auth').hidden };
  for (const id of scenario.report) result[id] = text(id);
  console.log(JSON.stringify(result));
  process.exit(0);
})();
