// The page's state, in one place: who is signed in, the rooms it knows, the open room, the
// pending sends, everybody's presence; and the three objects that live as long as the page
// (the message list, the socket, the inbox), which app.js makes and hands over with `attach`.

export const STATUS_KEY = 'tertulia.status';
// Not a secret: only "this browser signed in", so a fresh visit does not ask /api/auth/me
// (and log a 401) before showing the sign-in form. The session itself is the HttpOnly cookie.
export const SIGNED_IN_KEY = 'tertulia.signedIn';

export function remember(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* storage may be unavailable */ }
}

export function recall(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

export const $ = (id) => document.getElementById(id);

export const state = {
  me: null,
  rooms: new Map(),
  currentId: null,
  pending: new Map(), // client_msg_id -> {client_msg_id, room_id, content, state, created_at}
  // user_id -> {username, status}: one map for the page, whichever room a frame came through;
  // a room's bar is its members looked up here.
  presence: new Map(),
  limits: { message_max_chars: 4000, max_frame_bytes: 65536 },
  joinQueue: [], // room ids whose `join` awaits `joined` or an error, in the order sent
  authSent: false,
  policyWarned: false,
  myStatus: 'online',
  typingSentAt: 0,
  typingRoom: null,
  typingIdle: null,
  readTimer: null,
  roomsTimer: null,
  viewSent: null, // the last `view` frame this socket sent, as "room:visible"
};

/** The MessageView, the ChatSocket and the Inbox: set once by app.js before the page starts
 *  (they take its handlers, so they are made where everything is wired). */
export let view = null;
export let socket = null;
export let inbox = null;

export function attach(parts) {
  ({ view, socket, inbox } = parts);
}

export function current() {
  return state.currentId === null ? null : state.rooms.get(state.currentId) || null;
}

export function pendingOf(roomId) {
  return [...state.pending.values()].filter((p) => p.room_id === roomId);
}

export function viewing(room) {
  return room.id === state.currentId && document.visibilityState === 'visible';
}
