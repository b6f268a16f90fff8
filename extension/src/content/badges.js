// Draws the badges on tiles. A tile can carry two marks: "duplicate on this page" (which page group) and "also in
// your library" (how many copies, where). Hover shows the group; a click on the badge opens it.
// Every element we add has a class starting with "photodedup-", which the grid observer ignores.
(() => {
  if (globalThis.PhotodedupBadges) return;

  const BADGE = 'photodedup-badge';
  const TIP = 'photodedup-tip';
  const HIGHLIGHT = 'photodedup-highlight';

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function describe(info) {
    const lines = [];
    if (info.page) {
      lines.push(`Duplicate on this page: group ${info.page.label} (${plural(info.page.keys.length, 'tile', 'tiles')}, ` +
        `${info.page.kind})`);
    }
    if (info.library) {
      const where = info.library.where.length ? ` in ${info.library.where.join(', ')}` : '';
      lines.push(`Also in your library: ${plural(info.library.count, 'copy', 'copies')}${where}`);
    }
    return lines;
  }

  function signature(info) {
    return JSON.stringify([info.page?.label, info.page?.keys.length, info.library?.count, info.library?.group_id,
      info.library?.where]);
  }

  function chip(cls, text) {
    const span = document.createElement('span');
    span.className = `photodedup-chip ${cls}`;
    span.textContent = text;
    return span;
  }

  /** Puts (or refreshes, or removes) the badge of one tile. */
  function render(tileEl, info, actions) {
    let badge = tileEl.querySelector(`:scope > .${BADGE}`);
    if (!info || (!info.page && !info.library)) {
      badge?.remove();
      return;
    }
    const sig = signature(info);
    if (badge && badge.dataset.sig === sig) return;
    if (!badge) {
      badge = document.createElement('span');
      badge.className = BADGE;
      badge.setAttribute('role', 'button');
      badge.tabIndex = 0;
      if (getComputedStyle(tileEl).position === 'static') tileEl.style.position = 'relative';
      tileEl.appendChild(badge);
      const stop = (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
      };
      badge.addEventListener('mousedown', stop);
      badge.addEventListener('click', (ev) => {
        stop(ev);
        actions.open(badge.photodedupInfo);
      });
      badge.addEventListener('mouseenter', () => showTip(badge, actions));
      badge.addEventListener('mouseleave', hideTip);
    }
    badge.photodedupInfo = info;
    badge.dataset.sig = sig;
    badge.replaceChildren();
    if (info.page) {
      badge.appendChild(chip('photodedup-chip-page', `dup ${info.page.label}`));
      badge.dataset.pageGroup = String(info.page.label);
    } else {
      delete badge.dataset.pageGroup;
    }
    if (info.library) {
      badge.appendChild(chip('photodedup-chip-library', `✓ ${info.library.count}`));
      badge.dataset.libraryCount = String(info.library.count);
      badge.dataset.libraryGroup = info.library.group_id ?? '';
    } else {
      delete badge.dataset.libraryCount;
      delete badge.dataset.libraryGroup;
    }
    const lines = describe(info);
    badge.title = lines.join('\n');
    badge.setAttribute('aria-label', lines.join('. '));
  }

  let tip = null;

  function hideTip() {
    tip?.remove();
    tip = null;
  }

  async function showTip(badge, actions) {
    hideTip();
    const info = badge.photodedupInfo;
    tip = document.createElement('div');
    tip.className = TIP;
    for (const line of describe(info)) tip.appendChild(Object.assign(document.createElement('div'), {textContent: line}));
    const rect = badge.getBoundingClientRect();
    tip.style.left = `${Math.round(rect.left + window.scrollX)}px`;
    tip.style.top = `${Math.round(rect.bottom + window.scrollY + 4)}px`;
    document.body.appendChild(tip);
    const mine = tip;
    if (info.library?.group_id) {
      const group = await actions.summary(info.library.group_id).catch(() => null);
      if (!group || tip !== mine) return;
      const list = document.createElement('ul');
      for (const m of group.members.slice(0, 12)) {
        const li = document.createElement('li');
        li.textContent = `${m.keep ? '★ ' : ''}${m.name} — ${m.source}`;
        list.appendChild(li);
      }
      mine.appendChild(list);
    }
  }

  /** Outlines every tile of a page group and brings the next one into view. */
  function highlight(tileEls) {
    for (const el of document.querySelectorAll(`.${HIGHLIGHT}`)) el.classList.remove(HIGHLIGHT);
    for (const el of tileEls) el.classList.add(HIGHLIGHT);
    tileEls[0]?.scrollIntoView({block: 'center', behavior: 'smooth'});
  }

  globalThis.PhotodedupBadges = {render, highlight, describe, BADGE};
})();
