// What a refused request or frame tells the user: the code's own string, else the
// server's detail, else a generic line.

import { ApiError } from './api.js';
import { t } from './i18n.js';
import { toast } from './notify.js';
import { state } from './state.js';

export function errorText(code, fallback) {
  if (code === 'network') return t('error.network');
  if (code === 'content_too_long') {
    return t('error.content_too_long', { max: state.limits.message_max_chars });
  }
  const key = `error.${code}`;
  const text = t(key);
  if (text !== key) return text;
  return fallback || t('error.generic');
}

export function showError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return; // the session handler took over
    toast('error', null, errorText(error.code || (error.status === 0 ? 'network' : null),
      error.detail));
  } else {
    toast('error', null, t('error.generic'));
  }
}
