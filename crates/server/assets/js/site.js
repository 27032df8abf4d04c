// FitForAll: small progressive enhancements shared by every page (no inline scripts: CSP).
(function () {
  'use strict';

  // "Use my location": browser geolocation → /venues?lat=…&lng=… (keeping the form's other filters).
  function setUpGeolocation(button) {
    if (!('geolocation' in navigator)) return;
    button.hidden = false;
    var scope = button.closest('form') || button.parentElement;
    var status = (scope && scope.querySelector('.geo-status')) || document.querySelector('.geo-status');
    button.addEventListener('click', function () {
      if (status) status.textContent = button.dataset.locating || '';
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var params = new URLSearchParams();
          var form = button.closest('form');
          if (form) {
            new FormData(form).forEach(function (value, name) {
              if (name !== 'near' && name !== 'lat' && name !== 'lng' && name !== 'offset' && value !== '') params.append(name, value);
            });
          }
          params.set('lat', position.coords.latitude.toFixed(5));
          params.set('lng', position.coords.longitude.toFixed(5));
          window.location.href = '/venues?' + params.toString();
        },
        function () {
          button.disabled = false;
          if (status) status.textContent = button.dataset.failed || '';
        },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 }
      );
    });
  }

  document.querySelectorAll('button.geolocate').forEach(setUpGeolocation);

  // Print buttons (the fitness report): the page's print style hides the navigation.
  document.querySelectorAll('button[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });

  // Filter panels are folded on phones, open on wide screens.
  if (window.matchMedia && window.matchMedia('(min-width: 900px)').matches) {
    document.querySelectorAll('details[data-open-wide]').forEach(function (details) { details.open = true; });
  }
})();
