// Live updates: one EventSource on GET /api/v1/events (server-sent events, one
// per outbox message: event = topic, data = {topic, entity, entity_id, at,
// actor_id, after}). Pages subscribe with useEvents(); the browser reconnects
// by itself after a drop, and the status shows in the header.
import { useEffect, useRef, useState } from 'preact/hooks';

const listeners = new Set();
const statusListeners = new Set();
let source = null;
let status = 'off';
let onClosed = () => {};

// fn() when the server closed the stream for good (an HTTP error such as 401:
// EventSource does not retry those by itself).
export function setClosedHandler(fn) {
  onClosed = fn;
}

const kTopics = [
  'request.filed', 'request.approved', 'request.rejected', 'node.changed',
  'user.created', 'user.updated', 'user.disabled', 'user.bootstrap_admin', 'department.created',
];

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

function dispatch(e) {
  let data = null;
  try {
    data = JSON.parse(e.data);
  } catch {
    return;
  }
  for (const fn of listeners) fn(e.type, data);
}

export function connectEvents() {
  if (source) return;
  source = new EventSource('/api/v1/events');
  setStatus('connecting');
  source.onopen = () => setStatus('live');
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      setStatus('off');
      onClosed();
    } else {
      setStatus('connecting');
    }
  };
  for (const t of kTopics) source.addEventListener(t, dispatch);
  source.onmessage = dispatch;
}

export function disconnectEvents() {
  if (source) source.close();
  source = null;
  setStatus('off');
}

// fn(topic, message) for every event whose topic starts with one of prefixes.
export function useEvents(prefixes, fn) {
  const ref = useRef(fn);
  ref.current = fn;
  const key = prefixes.join(',');
  useEffect(() => {
    const l = (topic, msg) => {
      if (prefixes.some((p) => topic.startsWith(p))) ref.current(topic, msg);
    };
    listeners.add(l);
    return () => listeners.delete(l);
  }, [key]);
}

export function useEventStatus() {
  const [s, set] = useState(status);
  useEffect(() => {
    statusListeners.add(set);
    return () => statusListeners.delete(set);
  }, []);
  return s;
}
