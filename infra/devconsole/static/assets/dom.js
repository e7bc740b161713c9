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

// field is a labelled form control, with an optional hint tied to it.
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('p', { class: 'hint', id: hid }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

// dialog opens a modal <dialog> (focus moves into it and returns to the
// opener when it closes; Escape closes it) and resolves with what submit
// returns, or null when cancelled.
export function dialog(title, body, submitLabel, cancelLabel, onSubmit) {
  const opener = document.activeElement;
  const titleId = uid('dlg');
  const err = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h('form', { method: 'dialog' },
    h('h2', { id: titleId }, title), body, err,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, cancelLabel)));
  const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
  document.body.append(dlg);
  return new Promise((resolve) => {
    let result = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      submit.disabled = true;
      try {
        result = await onSubmit();
        dlg.close();
      } catch (x) {
        err.textContent = x.message;
      } finally {
        submit.disabled = false;
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    dlg.showModal();
    const first = dlg.querySelector('input, select, textarea, button');
    if (first) first.focus();
  });
}
