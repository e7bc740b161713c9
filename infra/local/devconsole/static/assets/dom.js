// h builds an element: h('button', {type: 'button', onclick: fn}, 'Label').
// Text is always set as text, never parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let ids = 0;
// uid is a fresh element id (labels point at their fields).
export function uid(prefix) { ids += 1; return `${prefix}-${ids}`; }

// field is a labelled form control, with an optional hint tied to it and
// a place for its error, right under it (showErrors fills it).
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  const described = [];
  if (hint) {
    const hid = uid('hint');
    described.push(hid);
    parts.push(h('p', { class: 'hint', id: hid }, hint));
  }
  const eid = uid('err');
  described.push(eid);
  control.dataset.error = eid;
  control.setAttribute('aria-describedby', described.join(' '));
  parts.push(h('p', { class: 'field-error', id: eid, 'data-for': control.name || id, hidden: true }));
  return h('div', { class: 'field' }, parts);
}

// FieldErrors is every field's problem at once: a Map from control to
// message. A form's check or the API's `field` throws it; showErrors
// places each message under its field.
export class FieldErrors extends Error {
  constructor(errors) {
    super([...errors.values()].join(' '));
    this.errors = errors;
  }
}

// showErrors clears the errors shown in root, then shows these (a Map from
// control to message), marks their fields invalid and focuses the first.
export function showErrors(root, errors) {
  for (const p of root.querySelectorAll('.field-error')) { p.textContent = ''; p.hidden = true; }
  for (const c of root.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  let first = null;
  for (const [control, message] of errors) {
    const slot = control.dataset.error && document.getElementById(control.dataset.error);
    if (!slot) continue;
    slot.textContent = message;
    slot.hidden = false;
    control.setAttribute('aria-invalid', 'true');
    first ??= control;
  }
  if (first) first.focus();
  return first !== null;
}

// dialog opens a modal <dialog> (focus moves into it and returns to the
// opener when it closes; Escape closes it) and resolves with what submit
// returns, or null when cancelled.
//
// A dialog belongs to the view it was opened on: any navigation (Back, a
// link, a new hash) closes it as cancelled, so it never acts on another
// invoice than the one it names. `about` (optional) says what it is for
// ("Invoice F-2026-0042 — Marie Tremblay"), under its title.
export function dialog(title, body, submitLabel, cancelLabel, onSubmit, about) {
  const opener = document.activeElement;
  const titleId = uid('dlg');
  const aboutId = about ? uid('about') : undefined;
  const err = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h('form', { method: 'dialog', novalidate: true },
    h('h2', { id: titleId }, title), about && h('p', { class: 'dialog-about', id: aboutId, 'data-testid': 'dialog-about' }, about), body, err,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, cancelLabel)));
  const dlg = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': aboutId }, form);
  document.body.append(dlg);
  const leave = () => { if (dlg.open) dlg.close(); };
  window.addEventListener('hashchange', leave);
  window.addEventListener('popstate', leave);
  return new Promise((resolve) => {
    let result = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      showErrors(form, new Map());
      submit.disabled = true;
      try {
        result = await onSubmit();
        dlg.close();
      } catch (x) {
        // Errors placed on their fields say it there; the rest here.
        if (!(x instanceof FieldErrors) || !showErrors(form, x.errors)) err.textContent = x.message;
        else err.textContent = x.summary ?? '';
      } finally {
        submit.disabled = false;
      }
    });
    dlg.addEventListener('close', () => {
      window.removeEventListener('hashchange', leave);
      window.removeEventListener('popstate', leave);
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    dlg.showModal();
    const first = dlg.querySelector('input, select, textarea, button');
    if (first) first.focus();
  });
}
