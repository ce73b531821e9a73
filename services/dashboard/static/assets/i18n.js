// Every string the operators' page shows, in the chat page's languages (English, Spanish).
// The choice is the chat page's: the same `localStorage` key on the same origin (the
// gateway's), else the browser's languages (what it sends as Accept-Language).

const STORAGE_KEY = 'tertulia.lang';

export const LANGUAGES = { en: 'English', es: 'Español' };

export const MESSAGES = {
  en: {
    'page.title': 'Tertulia · Operations',
    'page.subtitle': 'operations',
    'lang.label': 'Language',
    'clock.title': 'Server time (UTC)',
    'link.connecting': 'connecting…',
    'link.reconnecting': 'reconnecting…',
    'link.live': 'live',
    'link.signedOut': 'signed out',
    'link.forbidden': 'not an administrator',
    'chat.open': 'Chat',
    'auth.title': 'Administrators only',
    'auth.signedOut': 'The operations data is for administrators. Sign in with your Tertulia account (the same as on the chat page).',
    'auth.forbidden': 'You are signed in, but this account is not an administrator. Sign in with an administrator’s account.',
    'auth.username': 'Username',
    'auth.password': 'Password',
    'auth.signIn': 'Sign in',
    'auth.signOut': 'Sign out',
    'auth.working': 'One moment…',
    'auth.missing': 'Enter a username and a password.',
    'auth.as': 'Signed in as {name}',
    'error.invalid_credentials': 'Wrong username or password.',
    'error.rate_limited': 'Too many attempts. Try again in {secs} s.',
    'error.network': 'Cannot reach the server. Check your connection.',
    'error.noSignIn': 'Signing in is served by the chat service: open this page through the gateway (the address of the chat page).',
    'error.generic': 'Something went wrong ({detail}).',
    'kpi.sockets': 'Sockets open',
    'kpi.users': 'Users connected',
    'kpi.rooms': 'Rooms with people',
    'kpi.minute': 'Messages this minute',
    'kpi.day': 'Messages, 24 h',
    'kpi.newUsers': 'New users, 24 h',
    'kpi.notifications': 'Notifications, 24 h',
    'kpi.services': 'Service instances',
    'kpi.storage': 'Storage used',
    'kpi.storageFiles': '{n} files ({avatars} avatars)',
    'kpi.replicas.one': '{n} chat replica',
    'kpi.replicas.other': '{n} chat replicas',
    'kpi.extraSockets': '{n} extra sockets or guests',
    'kpi.lastHour': '{n} in the last hour',
    'kpi.last': 'last {ago}',
    'kpi.known': '{n} known',
    'kpi.suppressed': '{n} suppressed',
    'kpi.suppressedUnknown': 'suppressed: n/a',
    'kpi.down': '{n} down',
    'kpi.allHeard': 'all heard from',
    'card.messages': 'Messages per minute',
    'card.messagesNote': 'last 60 minutes, all rooms',
    'card.messagesChart': 'Messages per minute over the last hour',
    'card.presence': 'Users by status',
    'card.presenceChart': 'Users by presence status over time',
    'card.sockets': 'Sockets',
    'card.socketsNote': 'since this page opened',
    'card.socketsChart': 'Open sockets over time',
    'card.topRooms': 'Most active rooms',
    'card.topRoomsNote': '24 h',
    'card.roomsPeople': 'Rooms with people',
    'card.roomsPeopleNote': 'now',
    'card.services': 'Service health',
    'card.broadcast': 'Broadcast to everyone',
    'card.activity': 'Activity',
    'col.replica': 'Chat replica',
    'col.sockets': 'Sockets',
    'col.slowCloses': 'Slow closes, 1 h',
    'col.slowClosesTitle': 'Sockets closed with 1013 for not reading, last 60 minutes',
    'col.room': 'Room',
    'col.messages': 'Messages',
    'col.users': 'Users',
    'col.perHour': 'Msgs/60 min',
    'col.service': 'Service',
    'col.instance': 'Instance',
    'col.version': 'Version',
    'col.status': 'Status',
    'col.upSince': 'Up since',
    'col.checks': 'Checks',
    'empty.replicas': 'No chat replica has reported yet',
    'empty.roomsPeople': 'Nobody is in a room right now',
    'empty.topRooms': 'No messages in the last 24 hours',
    'empty.services': 'No heartbeat yet',
    'status.online': 'online',
    'status.away': 'away',
    'status.busy': 'busy',
    'status.offline': 'offline',
    'health.up': 'up',
    'health.not_ready': 'not ready',
    'health.down': 'down',
    'health.silent': 'silent since {ago}',
    'reason.message': 'message',
    'reason.mention': 'mention',
    'reason.room_mention': '@room',
    'reason.reply': 'reply',
    'reason.thread_reply': 'thread reply',
    'reason.broadcast': 'broadcast',
    'ago.secs': '{n} s ago',
    'ago.mins': '{n} min ago',
    'ago.hours': '{n} h ago',
    'ago.days': '{n} d ago',
    'broadcast.label': 'Message',
    'broadcast.placeholder': 'Maintenance tonight at 22:00…',
    'broadcast.send': 'Send',
    'broadcast.count': '{n} / {max}',
    'broadcast.sending': 'Sending…',
    'broadcast.delivered.one': 'Delivered to {sent} of {total} sockets ({users} users) on {n} chat replica.',
    'broadcast.delivered.other': 'Delivered to {sent} of {total} sockets ({users} users) on {n} chat replicas.',
    'broadcast.unconfirmed': 'Sent. No chat replica confirmed delivery yet ({total} sockets were open); late confirmations show in the list below.',
    'broadcast.failed': 'Not sent: {detail}',
    'broadcast.meta': '{time} · {sent} sockets · {users} users · {replicas}/{expected} replicas · {inboxes} inboxes · {read}',
    'broadcast.read': '{n} read',
    'broadcast.readUnknown': 'reads not reported',
    'activity.presence': '{name} is {status}',
    'activity.presenceWas': '{name} is {status} (was {previous})',
    'activity.service': '{service} {instance} is {status}',
    'activity.appeared': '{service} {instance} {version} appeared ({status})',
    'activity.broadcast': 'Broadcast sent: “{content}”',
    'footer.stream': 'Stream:',
    'footer.lastEvent': 'Last event',
    'footer.upSince': 'Dashboard up since',
  },
  es: {
    'page.title': 'Tertulia · Operaciones',
    'page.subtitle': 'operaciones',
    'lang.label': 'Idioma',
    'clock.title': 'Hora del servidor (UTC)',
    'link.connecting': 'conectando…',
    'link.reconnecting': 'reconectando…',
    'link.live': 'en directo',
    'link.signedOut': 'sin sesión',
    'link.forbidden': 'no es administrador',
    'chat.open': 'Chat',
    'auth.title': 'Solo administradores',
    'auth.signedOut': 'Los datos de operaciones son para administradores. Entra con tu cuenta de Tertulia (la misma que en el chat).',
    'auth.forbidden': 'Has entrado, pero esta cuenta no es de administrador. Entra con la cuenta de un administrador.',
    'auth.username': 'Usuario',
    'auth.password': 'Contraseña',
    'auth.signIn': 'Entrar',
    'auth.signOut': 'Salir',
    'auth.working': 'Un momento…',
    'auth.missing': 'Escribe un usuario y una contraseña.',
    'auth.as': 'Has entrado como {name}',
    'error.invalid_credentials': 'Usuario o contraseña incorrectos.',
    'error.rate_limited': 'Demasiados intentos. Vuelve a probar en {secs} s.',
    'error.network': 'No se puede contactar con el servidor. Revisa tu conexión.',
    'error.noSignIn': 'La entrada la sirve el servicio de chat: abre esta página a través de la pasarela (la dirección del chat).',
    'error.generic': 'Algo ha fallado ({detail}).',
    'kpi.sockets': 'Sockets abiertos',
    'kpi.users': 'Usuarios conectados',
    'kpi.rooms': 'Salas con gente',
    'kpi.minute': 'Mensajes este minuto',
    'kpi.day': 'Mensajes, 24 h',
    'kpi.newUsers': 'Usuarios nuevos, 24 h',
    'kpi.notifications': 'Notificaciones, 24 h',
    'kpi.services': 'Instancias de servicio',
    'kpi.storage': 'Almacenamiento usado',
    'kpi.storageFiles': '{n} archivos ({avatars} avatares)',
    'kpi.replicas.one': '{n} réplica de chat',
    'kpi.replicas.other': '{n} réplicas de chat',
    'kpi.extraSockets': '{n} sockets de más o invitados',
    'kpi.lastHour': '{n} en la última hora',
    'kpi.last': 'el último {ago}',
    'kpi.known': '{n} conocidos',
    'kpi.suppressed': '{n} omitidas',
    'kpi.suppressedUnknown': 'omitidas: n/d',
    'kpi.down': '{n} caídas',
    'kpi.allHeard': 'todas responden',
    'card.messages': 'Mensajes por minuto',
    'card.messagesNote': 'últimos 60 minutos, todas las salas',
    'card.messagesChart': 'Mensajes por minuto en la última hora',
    'card.presence': 'Usuarios por estado',
    'card.presenceChart': 'Usuarios por estado de presencia a lo largo del tiempo',
    'card.sockets': 'Sockets',
    'card.socketsNote': 'desde que se abrió esta página',
    'card.socketsChart': 'Sockets abiertos a lo largo del tiempo',
    'card.topRooms': 'Salas más activas',
    'card.topRoomsNote': '24 h',
    'card.roomsPeople': 'Salas con gente',
    'card.roomsPeopleNote': 'ahora',
    'card.services': 'Estado de los servicios',
    'card.broadcast': 'Difundir a todos',
    'card.activity': 'Actividad',
    'col.replica': 'Réplica de chat',
    'col.sockets': 'Sockets',
    'col.slowCloses': 'Cierres por lentitud, 1 h',
    'col.slowClosesTitle': 'Sockets cerrados con 1013 por no leer, últimos 60 minutos',
    'col.room': 'Sala',
    'col.messages': 'Mensajes',
    'col.users': 'Usuarios',
    'col.perHour': 'Msj./60 min',
    'col.service': 'Servicio',
    'col.instance': 'Instancia',
    'col.version': 'Versión',
    'col.status': 'Estado',
    'col.upSince': 'En marcha desde',
    'col.checks': 'Comprobaciones',
    'empty.replicas': 'Ninguna réplica de chat ha informado aún',
    'empty.roomsPeople': 'Ahora no hay nadie en ninguna sala',
    'empty.topRooms': 'Ningún mensaje en las últimas 24 horas',
    'empty.services': 'Aún no hay latidos',
    'status.online': 'disponible',
    'status.away': 'ausente',
    'status.busy': 'ocupado',
    'status.offline': 'desconectado',
    'health.up': 'en marcha',
    'health.not_ready': 'no lista',
    'health.down': 'caída',
    'health.silent': 'en silencio desde {ago}',
    'reason.message': 'mensaje',
    'reason.mention': 'mención',
    'reason.room_mention': '@room',
    'reason.reply': 'respuesta',
    'reason.thread_reply': 'respuesta en hilo',
    'reason.broadcast': 'difusión',
    'ago.secs': 'hace {n} s',
    'ago.mins': 'hace {n} min',
    'ago.hours': 'hace {n} h',
    'ago.days': 'hace {n} d',
    'broadcast.label': 'Mensaje',
    'broadcast.placeholder': 'Mantenimiento esta noche a las 22:00…',
    'broadcast.send': 'Enviar',
    'broadcast.count': '{n} / {max}',
    'broadcast.sending': 'Enviando…',
    'broadcast.delivered.one': 'Entregado a {sent} de {total} sockets ({users} usuarios) en {n} réplica de chat.',
    'broadcast.delivered.other': 'Entregado a {sent} de {total} sockets ({users} usuarios) en {n} réplicas de chat.',
    'broadcast.unconfirmed': 'Enviado. Ninguna réplica de chat ha confirmado aún la entrega (había {total} sockets abiertos); las confirmaciones tardías aparecen en la lista de abajo.',
    'broadcast.failed': 'No enviado: {detail}',
    'broadcast.meta': '{time} · {sent} sockets · {users} usuarios · {replicas}/{expected} réplicas · {inboxes} bandejas · {read}',
    'broadcast.read': '{n} leídos',
    'broadcast.readUnknown': 'lecturas no informadas',
    'activity.presence': '{name} está {status}',
    'activity.presenceWas': '{name} está {status} (antes {previous})',
    'activity.service': '{service} {instance}: {status}',
    'activity.appeared': '{service} {instance} {version} ha aparecido ({status})',
    'activity.broadcast': 'Difusión enviada: «{content}»',
    'footer.stream': 'Flujo:',
    'footer.lastEvent': 'Último evento',
    'footer.upSince': 'Panel en marcha desde',
  },
};

let current = detectLang();
const listeners = new Set();

export function detectLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && MESSAGES[saved]) return saved;
  } catch { /* storage may be unavailable */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('es') ? 'es' : 'en';
}

export function lang() {
  return current;
}

/** Switch language; remembered for the chat page too (same key, same origin). */
export function setLang(next) {
  current = MESSAGES[next] ? next : 'en';
  try { localStorage.setItem(STORAGE_KEY, current); } catch { /* ignore */ }
  applyI18n(document);
  for (const fn of listeners) fn(current);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** The string for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  const text = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

export function has(key) {
  return key in MESSAGES.en;
}

/** `key.one` or `key.other` by `n` (both languages here plural the same way). */
export function plural(key, n, params = {}) {
  return t(`${key}.${n === 1 ? 'one' : 'other'}`, { n, ...params });
}

/** Fill every `data-i18n*` element under `root`, and the document's language and title. */
export function applyI18n(root) {
  document.documentElement.lang = current;
  document.title = t('page.title');
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll('[data-i18n-aria-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  }
}
