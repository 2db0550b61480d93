// The officer's request form: C-SSRS skip logic, the area list, "use my location" (which
// suggests the nearest area when areas have coordinates), and the JSON body.
import { api } from './api.js';
import { showEmergencyNumber } from './emergency.js';
import { $ } from './dom.js';

const QUESTIONS = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6_lifetime', 'q6_recent'];

const toRad = (deg) => (deg * Math.PI) / 180;

// Great-circle distance in km between two {lat, lon}.
function distanceKm(a, b) {
  const h = Math.sin(toRad(b.lat - a.lat) / 2) ** 2
    + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(toRad(b.lon - a.lon) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

// Fills the area select from /api/v1/areas, one group per health board (each option knows
// its board's emergency number); resolves to the areas with coordinates, for the
// nearest-area suggestion.
async function loadAreas(select) {
  const wanted = select.value;
  const { boards } = await api('GET', '/api/v1/areas');
  const areas = boards.flatMap((board) => board.areas);
  for (const board of boards) {
    const group = document.createElement('optgroup');
    group.label = board.name;
    for (const area of board.areas) {
      const option = new Option(area.name, area.id);
      option.dataset.emergencyNumber = board.emergency_number;
      group.append(option);
    }
    select.append(group);
  }
  if (areas.length === 1) select.value = areas[0].id;
  else if (wanted) select.value = wanted;
  return areas.filter((area) => area.lat != null && area.lon != null);
}

export function setupRequestForm(form) {
  let coords = null;
  let placed = [];
  const areaSelect = form.elements.area_id;
  const areaNumber = () => showEmergencyNumber(areaSelect.selectedOptions[0]?.dataset.emergencyNumber);
  const areasLoaded = loadAreas(areaSelect).then((found) => { placed = found; areaNumber(); })
    .catch((error) => {
      // The list stays empty; the free-text place still works.
      console.warn('request form: areas not loaded', error);
    });
  areaSelect.addEventListener('change', areaNumber);

  function suggestNearest() {
    if (!coords || !placed.length) return '';
    const nearest = placed.reduce((best, area) => (
      distanceKm(coords, area) < distanceKm(coords, best) ? area : best));
    areaSelect.value = nearest.id;
    areaSelect.dispatchEvent(new Event('change', { bubbles: true }));
    return ` Nearest area: ${nearest.name}.`;
  }

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
    navigator.geolocation.getCurrentPosition(async (position) => {
      const round = (x) => Math.round(x * 1e5) / 1e5;
      coords = { lat: round(position.coords.latitude), lon: round(position.coords.longitude) };
      await areasLoaded;
      const suggestion = suggestNearest();
      geoStatus(`Location added (to within ${Math.round(position.coords.accuracy)} m).${suggestion}`);
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
    if (text('area_id')) location.area_id = text('area_id');
    if (coords) Object.assign(location, coords);
    const subject = { age_band: data.get('age_band'), sex: data.get('sex') };
    if (text('known_name')) subject.known_name = text('known_name');
    if (text('chi')) subject.chi = text('chi');
    if (text('date_of_birth')) subject.date_of_birth = text('date_of_birth');
    const cssrs = Object.fromEntries(QUESTIONS.map((q) => [q, shown(q) ? answer(q) : null]));
    const asked = Object.values(cssrs).some((value) => value !== null);
    const body = {
      incident_ref: text('incident_ref'), location, subject,
      urgency: data.get('urgency'), concerns: data.getAll('concerns'),
      screening: asked ? { cssrs } : {}, mode: data.get('mode'),
      consent: data.get('consent') || false, notes: text('notes'),
    };
    if (body.consent === 'lacks_capacity') body.capacity_note = text('capacity_note') || null;
    if (text('officer_phone')) body.officer_phone = text('officer_phone');
    return body;
  }

  // Consent: a person who lacks capacity is still assessed, and the officer says why.
  function applyConsent() {
    $('capacity-note-item').hidden = form.elements.consent.value !== 'lacks_capacity';
  }
  form.querySelector('.consent-choice').addEventListener('change', applyConsent);

  function reset() {
    form.reset();
    if (areaSelect.querySelectorAll('optgroup option').length === 1) {
      areaSelect.value = areaSelect.querySelector('optgroup option').value;
    }
    coords = null;
    geoStatus('');
    $('use-location').textContent = 'Use my location';
    applySkips();
    applyConsent();
  }

  applySkips();
  applyConsent();
  return { collect, reset };
}
