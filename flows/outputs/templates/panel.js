(function () {
  var fields = {{ fields }};
  var panel = document.getElementById('panel');
  var body = document.getElementById('panel-body');
  function show(mark) {
    var old = document.querySelectorAll('mark.fig.sel');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('sel');
    mark.classList.add('sel');
    body.textContent = '';
    var dl = document.createElement('dl');
    for (var j = 0; j < fields.length; j++) {
      var v = mark.getAttribute('data-' + fields[j][0]);
      if (!v) continue;
      var dt = document.createElement('dt'); dt.textContent = fields[j][1];
      var dd = document.createElement('dd'); dd.textContent = v;
      dl.appendChild(dt); dl.appendChild(dd);
    }
    body.appendChild(dl);
    panel.classList.add('open');
  }
  document.addEventListener('click', function (e) {
    var m = e.target.closest ? e.target.closest('mark.fig') : null;
    if (m) { show(m); history.replaceState(null, '', '#' + m.id); }
  });
  document.addEventListener('keydown', function (e) {
    var m = document.activeElement;
    if (e.key === 'Enter' && m && m.matches && m.matches('mark.fig')) show(m);
    if (e.key === 'Escape') panel.classList.remove('open');
  });
  document.getElementById('panel-close').addEventListener('click', function () {
    panel.classList.remove('open');
  });
  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var m = id ? document.getElementById(id) : null;
    if (m && m.matches('mark.fig')) show(m);
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
