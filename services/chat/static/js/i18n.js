// Every string the page shows, in English and Spanish. One dictionary, one `t()`.

const STORAGE_KEY = 'tertulia.lang';

export const MESSAGES = {
  en: {
    'people.members': 'Members',
    'people.role.admin': 'Admin',
    'people.role.moderator': 'Moderator',
    'people.role.member': 'Member',
    'profile.edit': 'Edit your profile',
    'profile.title': 'Your profile',
    'profile.displayName': 'Display name',
    'profile.statusText': 'Status',
    'profile.statusPlaceholder': 'What are you up to?',
    'profile.timeZone': 'Time zone',
    'profile.localTime': 'Local time {time} ({zone})',
    'composer.mentions': 'People to mention',
    'app.title': 'Tertulia',
    'auth.tagline': 'Real-time chat for your team.',
    'auth.username': 'Username',
    'auth.password': 'Password',
    'auth.signIn': 'Sign in',
    'auth.signUp': 'Create account',
    'auth.signOut': 'Sign out',
    'auth.hint': 'New here? Choose a username and a password of at least 8 characters, then “Create account”.',
    'auth.missing': 'Enter a username and a password.',
    'auth.expired': 'Your session has ended. Please sign in again.',
    'auth.signedOut': 'You have signed out.',
    'auth.working': 'One moment…',
    'lang.label': 'Language',
    'menu.open': 'Rooms',
    'menu.close': 'Close menu',
    'common.cancel': 'Cancel',
    'common.save': 'Save',
    'common.close': 'Close',
    'rooms.title': 'Rooms',
    'rooms.mine': 'Your rooms',
    'rooms.public': 'Public rooms',
    'rooms.none': 'No rooms yet. Create the first one.',
    'rooms.new': 'New room',
    'rooms.name': 'Room name',
    'rooms.namePlaceholder': 'Room name',
    'rooms.private': 'Private (invitation only)',
    'rooms.create': 'Create',
    'rooms.pick': 'Pick a room',
    'rooms.welcome': 'Pick a room on the left, or create one.',
    'rooms.empty': 'No messages yet. Say hello!',
    'rooms.join': 'Join room',
    'rooms.notMember': 'You are reading this room as a visitor.',
    'rooms.leave': 'Leave room',
    'rooms.invite': 'Invite',
    'rooms.invitePlaceholder': 'Invite by username',
    'rooms.invited': '{name} is now a member of this room.',
    'rooms.privateTag': 'private',
    'rooms.publicTag': 'public',
    'rooms.role.admin': 'you are an admin here',
    'rooms.role.moderator': 'you are a moderator here',
    'rooms.role.member': 'member',
    'rooms.unreadLabel': '{count} unread',
    'rooms.left': 'You left {room}.',
    'rooms.kicked': 'You were removed from {room}.',
    'rooms.gone': 'That room does not exist or is private.',
    'history.loading': 'Loading older messages…',
    'history.start': 'This is the beginning of {room}.',
    'messages.edited': '(edited)',
    'messages.deleted': 'message deleted',
    'messages.edit': 'Edit',
    'messages.delete': 'Delete',
    'messages.retry': 'Retry',
    'messages.discard': 'Discard',
    'messages.sending': 'sending…',
    'messages.failed': 'not sent',
    'messages.editHint': 'Enter to save, Esc to cancel',
    'reactions.add': 'Add reaction',
    'reactions.by': '{names} reacted with {emoji}',
    'reactions.more': 'and {n} more',
    'pins.button': 'Pinned',
    'pins.title': 'Pinned messages',
    'pins.empty': 'No pinned messages yet.',
    'pins.pin': 'Pin',
    'pins.unpin': 'Unpin',
    'pins.marker': 'Pinned',
    'pins.by': 'Pinned by {name}',
    'edits.title': 'Editing history',
    'edits.open': 'History',
    'edits.edited': '{name} edited it',
    'edits.deleted': '{name} deleted it',
    'edits.before': 'Before',
    'edits.after': 'After',
    'edits.empty': 'No changes recorded.',
    'error.invalid_emoji': 'A reaction is one emoji.',
    'error.too_many_reactions': 'This message has as many different reactions as it can take.',
    'error.not_moderator': 'Only the room’s moderators and admins can do that.',
    'messages.you': 'you',
    'composer.placeholder': 'Write a message…',
    'composer.label': 'Message',
    'composer.send': 'Send',
    'typing.one': '{a} is typing…',
    'typing.two': '{a} and {b} are typing…',
    'typing.many': '{n} people are typing…',
    'conn.connected': 'connected',
    'conn.connecting': 'connecting…',
    'conn.disconnected': 'disconnected',
    'conn.retry': 'Click to reconnect',
    'status.label': 'Your status',
    'status.online': 'Online',
    'status.away': 'Away',
    'status.busy': 'Busy',
    'status.offline': 'Offline',
    'presence.online': 'Online in this room',
    'presence.nobody': 'Nobody else is here right now.',
    'notify.enable': 'Enable desktop notifications',
    'notify.enabled': 'Desktop notifications are on',
    'notify.denied': 'Desktop notifications are blocked',
    'notify.broadcastFrom': 'Announcement from {from}',
    'inbox.title': 'Notifications',
    'inbox.markAll': 'Mark all read',
    'inbox.empty': 'No notifications yet.',
    'inbox.more': 'Older notifications',
    'inbox.markRead': 'Mark read',
    'inbox.reason.message': 'new message',
    'inbox.reason.mention': 'you were mentioned',
    'inbox.reason.room_mention': '@room',
    'inbox.reason.broadcast': 'announcement',
    'dashboard.link': 'Dashboard',
    'error.generic': 'Something went wrong. Please try again.',
    'error.network': 'Cannot reach the server. Check your connection.',
    'error.closed1008': 'The server closed the connection (too many messages, or this address is not allowed). Reconnecting in a few seconds.',
    'error.closed4004': 'That room does not exist or is private.',
    'error.notConnected': 'Not connected. Your message will be sent when the connection is back.',
    'error.invalid_credentials': 'Wrong username or password.',
    'error.username_taken': 'That username is taken. Choose another.',
    'error.display_name_too_long': 'A display name has at most 64 characters.',
    'error.invalid_display_name': 'A display name cannot hold line breaks or control characters.',
    'error.status_text_too_long': 'A status has at most 100 characters.',
    'error.invalid_status_text': 'A status is one line, without control characters.',
    'error.invalid_time_zone': 'That time zone is not known to the server.',
    'error.invalid_username': 'Usernames are 3-32 letters, digits, “_”, “.” or “-”.',
    'error.password_too_short': 'Passwords need at least 8 characters.',
    'error.password_too_long': 'Passwords have at most 256 characters.',
    'error.password_blank': 'A password cannot be only spaces.',
    'error.password_is_username': 'The password cannot be your username.',
    'error.password_too_common': 'That password is one of the most common ones: choose another.',
    'error.room_name_taken': 'A room with that name already exists.',
    'error.invalid_room_name': 'That room name is not valid.',
    'error.content_empty': 'The message is empty.',
    'error.content_too_long': 'The message is too long (at most {max} characters).',
    'error.rate_limited': 'You are sending too fast. Slow down a little.',
    'error.forbidden': 'You are not allowed to do that.',
    'error.not_author': 'Only the author can edit a message.',
    'error.not_a_member': 'Join the room first.',
    'error.not_room_admin': 'Only the room’s admins can do that.',
    'error.room_not_found': 'That room does not exist or is private.',
    'error.user_not_found': 'There is no user with that name.',
    'error.message_not_found': 'That message no longer exists.',
    'error.message_deleted': 'That message was deleted.',
    'error.not_joined': 'Not in that room yet. Try again in a moment.',
    'error.not_authenticated': 'Please sign in again.',
    'error.invalid_token': 'Your session has ended. Please sign in again.',
    'error.not_connected': 'Not connected yet.',
    'error.validation_error': 'Some of the input is not valid.',
    'error.notification_not_found': 'That notification no longer exists.',
  },
  es: {
    'people.members': 'Miembros',
    'people.role.admin': 'Administrador',
    'people.role.moderator': 'Moderador',
    'people.role.member': 'Miembro',
    'profile.edit': 'Editar tu perfil',
    'profile.title': 'Tu perfil',
    'profile.displayName': 'Nombre visible',
    'profile.statusText': 'Estado',
    'profile.statusPlaceholder': '¿Qué estás haciendo?',
    'profile.timeZone': 'Zona horaria',
    'profile.localTime': 'Hora local {time} ({zone})',
    'composer.mentions': 'Personas a mencionar',
    'app.title': 'Tertulia',
    'auth.tagline': 'Chat en tiempo real para tu equipo.',
    'auth.username': 'Usuario',
    'auth.password': 'Contraseña',
    'auth.signIn': 'Entrar',
    'auth.signUp': 'Crear cuenta',
    'auth.signOut': 'Salir',
    'auth.hint': '¿Eres nuevo? Elige un usuario y una contraseña de al menos 8 caracteres y pulsa «Crear cuenta».',
    'auth.missing': 'Escribe un usuario y una contraseña.',
    'auth.expired': 'Tu sesión ha terminado. Vuelve a entrar.',
    'auth.signedOut': 'Has salido.',
    'auth.working': 'Un momento…',
    'lang.label': 'Idioma',
    'menu.open': 'Salas',
    'menu.close': 'Cerrar menú',
    'common.cancel': 'Cancelar',
    'common.save': 'Guardar',
    'common.close': 'Cerrar',
    'rooms.title': 'Salas',
    'rooms.mine': 'Tus salas',
    'rooms.public': 'Salas públicas',
    'rooms.none': 'Todavía no hay salas. Crea la primera.',
    'rooms.new': 'Nueva sala',
    'rooms.name': 'Nombre de la sala',
    'rooms.namePlaceholder': 'Nombre de la sala',
    'rooms.private': 'Privada (solo por invitación)',
    'rooms.create': 'Crear',
    'rooms.pick': 'Elige una sala',
    'rooms.welcome': 'Elige una sala a la izquierda o crea una.',
    'rooms.empty': 'Aún no hay mensajes. ¡Saluda!',
    'rooms.join': 'Unirme a la sala',
    'rooms.notMember': 'Estás leyendo esta sala como visitante.',
    'rooms.leave': 'Salir de la sala',
    'rooms.invite': 'Invitar',
    'rooms.invitePlaceholder': 'Invitar por usuario',
    'rooms.invited': '{name} ya es miembro de esta sala.',
    'rooms.privateTag': 'privada',
    'rooms.publicTag': 'pública',
    'rooms.role.admin': 'eres administrador aquí',
    'rooms.role.moderator': 'eres moderador aquí',
    'rooms.role.member': 'miembro',
    'rooms.unreadLabel': '{count} sin leer',
    'rooms.left': 'Has salido de {room}.',
    'rooms.kicked': 'Te han quitado de {room}.',
    'rooms.gone': 'Esa sala no existe o es privada.',
    'history.loading': 'Cargando mensajes anteriores…',
    'history.start': 'Aquí empieza {room}.',
    'messages.edited': '(editado)',
    'messages.deleted': 'mensaje eliminado',
    'messages.edit': 'Editar',
    'messages.delete': 'Eliminar',
    'messages.retry': 'Reintentar',
    'messages.discard': 'Descartar',
    'messages.sending': 'enviando…',
    'messages.failed': 'no enviado',
    'messages.editHint': 'Intro para guardar, Esc para cancelar',
    'reactions.add': 'Añadir reacción',
    'reactions.by': '{names} reaccionaron con {emoji}',
    'reactions.more': 'y {n} más',
    'pins.button': 'Fijados',
    'pins.title': 'Mensajes fijados',
    'pins.empty': 'Aún no hay mensajes fijados.',
    'pins.pin': 'Fijar',
    'pins.unpin': 'Desfijar',
    'pins.marker': 'Fijado',
    'pins.by': 'Fijado por {name}',
    'edits.title': 'Historial de ediciones',
    'edits.open': 'Historial',
    'edits.edited': '{name} lo editó',
    'edits.deleted': '{name} lo eliminó',
    'edits.before': 'Antes',
    'edits.after': 'Después',
    'edits.empty': 'No hay cambios registrados.',
    'error.invalid_emoji': 'Una reacción es un solo emoji.',
    'error.too_many_reactions': 'Este mensaje ya tiene todas las reacciones distintas que admite.',
    'error.not_moderator': 'Solo los moderadores y administradores de la sala pueden hacerlo.',
    'messages.you': 'tú',
    'composer.placeholder': 'Escribe tu mensaje…',
    'composer.label': 'Mensaje',
    'composer.send': 'Enviar',
    'typing.one': '{a} está escribiendo…',
    'typing.two': '{a} y {b} están escribiendo…',
    'typing.many': '{n} personas están escribiendo…',
    'conn.connected': 'conectado',
    'conn.connecting': 'conectando…',
    'conn.disconnected': 'desconectado',
    'conn.retry': 'Pulsa para reconectar',
    'status.label': 'Tu estado',
    'status.online': 'Disponible',
    'status.away': 'Ausente',
    'status.busy': 'Ocupado',
    'status.offline': 'Desconectado',
    'presence.online': 'En línea en esta sala',
    'presence.nobody': 'No hay nadie más ahora mismo.',
    'notify.enable': 'Activar notificaciones de escritorio',
    'notify.enabled': 'Notificaciones de escritorio activadas',
    'notify.denied': 'Notificaciones de escritorio bloqueadas',
    'notify.broadcastFrom': 'Aviso de {from}',
    'inbox.title': 'Notificaciones',
    'inbox.markAll': 'Marcar todas como leídas',
    'inbox.empty': 'Aún no tienes notificaciones.',
    'inbox.more': 'Notificaciones anteriores',
    'inbox.markRead': 'Marcar como leída',
    'inbox.reason.message': 'mensaje nuevo',
    'inbox.reason.mention': 'te han mencionado',
    'inbox.reason.room_mention': '@room',
    'inbox.reason.broadcast': 'aviso',
    'dashboard.link': 'Panel',
    'error.generic': 'Algo ha fallado. Inténtalo de nuevo.',
    'error.network': 'No se puede contactar con el servidor. Revisa tu conexión.',
    'error.closed1008': 'El servidor cerró la conexión (demasiados mensajes, o esta dirección no está permitida). Reconectando en unos segundos.',
    'error.closed4004': 'Esa sala no existe o es privada.',
    'error.notConnected': 'Sin conexión. Tu mensaje se enviará cuando vuelva la conexión.',
    'error.invalid_credentials': 'Usuario o contraseña incorrectos.',
    'error.username_taken': 'Ese usuario ya existe. Elige otro.',
    'error.display_name_too_long': 'Un nombre visible tiene como máximo 64 caracteres.',
    'error.invalid_display_name': 'Un nombre visible no puede tener saltos de línea ni caracteres de control.',
    'error.status_text_too_long': 'Un estado tiene como máximo 100 caracteres.',
    'error.invalid_status_text': 'Un estado es una sola línea, sin caracteres de control.',
    'error.invalid_time_zone': 'El servidor no conoce esa zona horaria.',
    'error.invalid_username': 'El usuario debe tener de 3 a 32 letras, números, «_», «.» o «-».',
    'error.password_too_short': 'La contraseña necesita al menos 8 caracteres.',
    'error.password_too_long': 'La contraseña tiene como máximo 256 caracteres.',
    'error.password_blank': 'La contraseña no puede ser solo espacios.',
    'error.password_is_username': 'La contraseña no puede ser tu nombre de usuario.',
    'error.password_too_common': 'Esa contraseña es de las más comunes: elige otra.',
    'error.room_name_taken': 'Ya existe una sala con ese nombre.',
    'error.invalid_room_name': 'Ese nombre de sala no es válido.',
    'error.content_empty': 'El mensaje está vacío.',
    'error.content_too_long': 'El mensaje es demasiado largo (máximo {max} caracteres).',
    'error.rate_limited': 'Estás enviando demasiado rápido. Espera un poco.',
    'error.forbidden': 'No tienes permiso para hacer eso.',
    'error.not_author': 'Solo el autor puede editar un mensaje.',
    'error.not_a_member': 'Primero únete a la sala.',
    'error.not_room_admin': 'Solo los administradores de la sala pueden hacerlo.',
    'error.room_not_found': 'Esa sala no existe o es privada.',
    'error.user_not_found': 'No hay ningún usuario con ese nombre.',
    'error.message_not_found': 'Ese mensaje ya no existe.',
    'error.message_deleted': 'Ese mensaje fue eliminado.',
    'error.not_joined': 'Aún no estás en esa sala. Inténtalo en un momento.',
    'error.not_authenticated': 'Vuelve a entrar, por favor.',
    'error.invalid_token': 'Tu sesión ha terminado. Vuelve a entrar.',
    'error.not_connected': 'Aún no hay conexión.',
    'error.validation_error': 'Algunos datos no son válidos.',
    'error.notification_not_found': 'Esa notificación ya no existe.',
  },
};

export const LANGS = Object.keys(MESSAGES);
let current = 'en';
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

export function setLang(next, { remember = true } = {}) {
  current = MESSAGES[next] ? next : 'en';
  document.documentElement.lang = current;
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, current); } catch { /* ignore */ }
  }
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

/** Fill every `data-i18n*` element under `root`. */
export function applyI18n(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll('[data-i18n-aria-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  }
}

/** "X is typing…", "X and Y are typing…", "N people are typing…". */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return t('typing.one', { a: names[0] });
  if (names.length === 2) return t('typing.two', { a: names[0], b: names[1] });
  return t('typing.many', { n: names.length });
}

export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  const opts = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return date.toLocaleString(current, opts);
}

export function formatFull(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString(current);
}
