// The room composer's files: the attach button and its file input, files dropped on the
// room, images pasted into the composer, all into one tray (js/uploads.js) that the next
// message takes (js/sending.js).

import { bindDrop, bindPaste, UploadTray } from './uploads.js';
import { $, current } from './state.js';

let tray = null;

/** Files go with a message only where one can be written (a member, composer shown). */
function canPost() {
  const room = current();
  return Boolean(room && room.member && !$('composer-form').hidden);
}

export function bindComposerFiles() {
  tray = new UploadTray($('upload-tray'));
  const input = $('attach-input');
  $('attach-button').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    tray.add(input.files);
    input.value = ''; // the same file chosen again is a change too
    $('composer').focus({ preventScroll: true });
  });
  bindDrop(document.querySelector('.main'), canPost, (files) => tray.add(files));
  bindPaste($('composer'), (files) => { if (canPost()) tray.add(files); });
}

/** The tray the next room message takes its files from (null before the page is bound). */
export function composerTray() {
  return tray;
}
