// FitForAll booking grid: keeps "places left" and the book buttons current without a reload, by
// polling the public slots API (/api/v1/resources/{id}/slots). Every 5 s normally; every second in
// the minute before a slot's window opens (the 08:00 rush). No inline script: the API URL and the
// texts come from data- attributes of the grid.
(function () {
  'use strict';
  var grid = document.getElementById('slot-grid');
  if (!grid || !window.fetch) return;
  var api = grid.dataset.slotsApi;
  var status = document.getElementById('slot-refresh');
  var NORMAL_MS = 5000;
  var RUSH_MS = 1000;

  function fill(template, n) {
    return (template || '').replace('{n}', String(n));
  }

  function nextDelay(slots, serverNow) {
    var now = Date.parse(serverNow + '+08:00');
    for (var i = 0; i < slots.length; i++) {
      var opens = Date.parse(slots[i].opens_at + '+08:00');
      if (!slots[i].booking_open && opens - now < 60000 && opens - now > -5000) return RUSH_MS;
    }
    return NORMAL_MS;
  }

  function apply(slot) {
    var cell = grid.querySelector('td[data-slot="' + slot.id + '"]');
    if (!cell) return;
    var state = slot.booking_open ? (slot.left > 0 ? 'open' : 'full') : (cell.classList.contains('slot-past') ? 'past' : 'not_open');
    if (!slot.booking_open && Date.parse(slot.start + '+08:00') <= Date.now()) state = 'past';
    cell.className = 'slot slot-' + state;
    var left = cell.querySelector('.slot-left');
    if (left) left.textContent = state === 'full' ? grid.dataset.textFull : state === 'past' ? '—' : fill(grid.dataset.textLeft, slot.left);
    var opens = cell.querySelector('.slot-opens');
    if (opens && state !== 'not_open') opens.remove();
    var button = cell.querySelector('.slot-book');
    if (button) button.disabled = state !== 'open';
  }

  function poll() {
    fetch(api, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (list) {
        var slots = list.slots || [];
        slots.forEach(apply);
        grid.dataset.updated = String(Date.now());
        if (status) status.dataset.state = 'live';
        window.setTimeout(poll, nextDelay(slots, list.now || ''));
      })
      .catch(function () {
        if (status) status.dataset.state = 'retrying';
        window.setTimeout(poll, NORMAL_MS * 2);
      });
  }

  window.setTimeout(poll, 1000);
})();
