// The officer's request form: C-SSRS skip logic, "use my location", and the JSON body.

const QUESTIONS = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6_lifetime', 'q6_recent'];

export function setupRequestForm(form) {
  const $ = (id) => document.getElementById(id);
  let coords = null;

  const answer = (name) => {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value === 'yes' : null;
  };
  const shown = (name) => !form.querySelector(`input[name="${name}"]`).closest('[hidden]');

  // C-SSRS: no to 2 skips 3-5 and goes to 6; 6 asks about the past 3 months only after a yes.
  function applySkips() {
    for (const item of form.querySelectorAll('.if-q2')) item.hidden = answer('q2') !== true;
    $('q6-recent').hidden = answer('q6_lifetime') !== true;
    $('imminent').hidden = !['q4', 'q5', 'q6_recent'].some((q) => shown(q) && answer(q));
  }
  form.querySelector('.cssrs').addEventListener('change', applySkips);

  function geoStatus(text) { $('geo-status').textContent = text; }
  $('use-location').addEventListener('click', () => {
    if (coords) {
      coords = null;
      geoStatus('');
      $('use-location').textContent = 'Use my location';
      return;
    }
    if (!navigator.geolocation) {
      geoStatus('Location is not available here: describe the place instead.');
      return;
    }
    geoStatus('Finding your location…');
    navigator.geolocation.getCurrentPosition((position) => {
      const round = (x) => Math.round(x * 1e5) / 1e5;
      coords = { lat: round(position.coords.latitude), lon: round(position.coords.longitude) };
      geoStatus(`Location added (to within ${Math.round(position.coords.accuracy)} m).`);
      const place = form.elements.location_description;
      if (!place.value.trim()) {
        place.value = `GPS ${coords.lat}, ${coords.lon}`;
        place.dispatchEvent(new Event('input', { bubbles: true }));
      }
      $('use-location').textContent = 'Remove my location';
    }, (error) => {
      geoStatus(error.code === 1 ? 'Location permission refused: describe the place instead.'
                                 : 'Could not find your location: describe the place instead.');
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  function collect() {
    const data = new FormData(form);
    const text = (name) => String(data.get(name) || '').trim();
    const location = { description: text('location_description') };
    if (text('area')) location.area = text('area');
    if (coords) Object.assign(location, coords);
    const subject = { age_band: data.get('age_band'), sex: data.get('sex') };
    if (text('known_name')) subject.known_name = text('known_name');
    const cssrs = Object.fromEntries(QUESTIONS.map((q) => [q, shown(q) ? answer(q) : null]));
    const asked = Object.values(cssrs).some((value) => value !== null);
    return {
      incident_ref: text('incident_ref'), location, subject,
      urgency: data.get('urgency'), concerns: data.getAll('concerns'),
      screening: asked ? { cssrs } : {}, mode: data.get('mode'),
      consent: form.elements.consent.checked, notes: text('notes'),
    };
  }

  function reset() {
    form.reset();
    coords = null;
    geoStatus('');
    $('use-location').textContent = 'Use my location';
    applySkips();
  }

  applySkips();
  return { collect, reset };
}
