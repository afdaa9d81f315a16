// The signed-in credentials, kept in this tab's sessionStorage only (gone when the tab
// closes); a session also ends after MAX_AGE_MS even if the tab stays open.
const STORE_KEY = "oxstore.console.session";
const MAX_AGE_MS = 12 * 60 * 60 * 1000;

export function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    if (session && Date.now() - session.since < MAX_AGE_MS) return session;
  } catch {
    // unreadable: treated as signed out
  }
  clearSession();
  return null;
}

export function saveSession({ accessKey, secretKey, region }) {
  const session = { accessKey, secretKey, region, since: Date.now() };
  sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.clear();
}
