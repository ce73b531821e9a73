// Files waiting to go with a message: each one chosen (the attach button, dropped on the
// room, pasted) uploads at once (POST /api/chat/files); the tray shows its name, size, a
// spinner until the server answers, a remove ×, and the server's reason when it refuses it.
// The message then carries the ids of those that arrived (`attachment_ids`).

import { api } from './api.js';
import { formatBytes } from './attachments.js';
import { clear, el } from './dom.js';
import { errorText } from './errors.js';
import { t } from './i18n.js';
import { toast } from './notify.js';

export const MAX_ATTACHMENTS = 10;

let serial = 0;

export class UploadTray {
  /** `node`: the tray's element; `onChange()` after anything in it changes. */
  constructor(node, onChange = () => {}) {
    this.node = node;
    this.onChange = onChange;
    this.items = []; // {key, name, size, state: 'uploading'|'done'|'failed', file, error, abort}
  }

  /** Upload each of `files` (a FileList or an array), as many as a message may carry. */
  add(files) {
    const chosen = [...(files || [])];
    const room = MAX_ATTACHMENTS - this.items.filter((i) => i.state !== 'failed').length;
    if (chosen.length > room) toast('error', null, t('files.tooMany', { max: MAX_ATTACHMENTS }));
    for (const file of chosen.slice(0, Math.max(0, room))) this.upload(file);
  }

  async upload(file) {
    const abort = new AbortController();
    const item = { key: ++serial, name: file.name || t('files.pasted'), size: file.size,
      state: 'uploading', file: null, error: null, abort };
    this.items.push(item);
    this.render();
    const form = new FormData();
    form.append('file', file, item.name);
    try {
      item.file = await api('/api/chat/files', { method: 'POST', form, signal: abort.signal });
      item.state = 'done';
    } catch (error) {
      if (error.code === 'aborted') return;
      item.state = 'failed';
      item.error = error.status === 401 ? t('auth.expired') : errorText(
        error.code || (error.status === 413 ? 'file_too_large' : null), error.detail);
    }
    if (this.items.includes(item)) this.render();
  }

  remove(item) {
    if (item.state === 'uploading') item.abort.abort();
    this.items = this.items.filter((i) => i !== item);
    this.render();
  }

  /** Still uploading: the message waits (sending now would leave those behind). */
  get busy() {
    return this.items.some((i) => i.state === 'uploading');
  }

  /** The uploaded files, in the order chosen. */
  get files() {
    return this.items.filter((i) => i.state === 'done').map((i) => i.file);
  }

  /** The message went: the tray starts empty (refused files go too). */
  clear() {
    for (const item of this.items) if (item.state === 'uploading') item.abort.abort();
    this.items = [];
    this.render();
  }

  render() {
    clear(this.node);
    this.node.hidden = this.items.length === 0;
    for (const item of this.items) {
      const chip = el('div', { class: `upload-chip ${item.state}`,
        dataset: { testid: 'upload-chip', state: item.state } },
      item.state === 'uploading'
        ? el('span', { class: 'spinner', role: 'progressbar', 'aria-label': t('files.uploading') })
        : null,
      el('span', { class: 'upload-name', dataset: { testid: 'upload-name' }, text: item.name,
        title: item.name }),
      el('span', { class: 'upload-size muted small', text: formatBytes(item.size) }),
      item.error ? el('span', { class: 'upload-error', role: 'alert',
        dataset: { testid: 'upload-error' }, text: item.error }) : null,
      el('button', { type: 'button', class: 'icon-button upload-remove',
        dataset: { testid: 'upload-remove' }, 'aria-label': t('files.remove', { name: item.name }),
        title: t('files.remove', { name: item.name }), text: '×',
        onclick: () => this.remove(item) }));
      this.node.append(chip);
    }
    this.onChange();
  }
}

/** Files dragged over `zone` are taken when dropped there, while `accepting()` says so. */
export function bindDrop(zone, accepting, onFiles) {
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');
  let depth = 0;
  const done = () => { depth = 0; zone.classList.remove('drop-target'); };
  zone.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event) || !accepting()) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add('drop-target');
  });
  zone.addEventListener('dragover', (event) => {
    if (!carriesFiles(event) || !accepting()) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('drop-target');
  });
  zone.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    done();
    if (accepting() && event.dataTransfer.files.length) onFiles(event.dataTransfer.files);
  });
}

/** A pasted image (or any file) in `input` joins the tray; pasted text stays text. */
export function bindPaste(input, onFiles) {
  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    onFiles(files);
  });
}
