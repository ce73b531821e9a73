// The "BOT" badge by the name of a bot's message (`is_bot`: a bot account's token or an
// incoming webhook posted it), wherever a message is drawn.

import { el } from './dom.js';
import { t } from './i18n.js';

export function botBadge(msg) {
  if (!msg.is_bot) return null;
  return el('span', { class: 'bot-badge', dataset: { testid: 'bot-badge' },
    title: t('people.bot_title'), text: t('people.bot') });
}
