import { useState } from 'react';
import { getDefaultAuthMethod, getDefaultDestination, prepareDestinationWithForm, useDestinationForm } from '@prequel/react';

/** Flat form state, keyed by field name, as useDestinationForm reads it. */
function initialFormState() {
  return {
    ...getDefaultDestination(),
    vendor: 'postgres',
    auth_method: getDefaultAuthMethod('postgres'),
    frequency_minutes: 60,
  };
}

/** Renders the form scopegate describes for the selected vendor (useDestinationForm). */
export default function DestinationForm({ scopegateUrl, busy, onCreate }) {
  const [formState, setFormState] = useState(initialFormState);
  // An empty organization id makes the hook send no org_id parameter.
  const form = useDestinationForm(formState, '', { host: scopegateUrl });

  function setField(name, value) {
    setFormState((state) => {
      const next = { ...state, [name]: value };
      if (name === 'vendor') {
        next.auth_method = getDefaultAuthMethod(value);
      }
      return next;
    });
  }

  async function submit(event) {
    event.preventDefault();
    const prepared = prepareDestinationWithForm(formState, form);
    if (await onCreate(prepared)) {
      setFormState(initialFormState());
    }
  }

  if (!form) {
    return <p className="card">Loading the destination form…</p>;
  }

  return (
    <form id="new-destination" className="card" onSubmit={submit}>
      <h2>New destination</h2>
      {form.map((section) => (
        <fieldset key={section.id} className="section">
          <legend>{section.title}</legend>
          {section.subtitle && <p className="hint">{section.subtitle}</p>}
          {section.fields.map((field) => (
            <FormField key={field.prepared_destination_path} field={field} value={formState[field.name]} onChange={(value) => setField(field.name, value)} />
          ))}
        </fieldset>
      ))}
      <button type="submit" disabled={busy}>
        Create destination
      </button>
    </form>
  );
}

function FormField({ field, value, onChange }) {
  const id = `field-${field.prepared_destination_path.replaceAll('.', '-')}`;
  const help = field.description && <small className="hint">{field.description}</small>;

  switch (field.form_element) {
    case 'div':
      return <p className="hint">{field.label ?? field.description}</p>;
    case 'radio':
      return (
        <fieldset className="field" id={id}>
          <legend>{field.label}</legend>
          {(field.enum ?? []).map((option) => (
            <label key={String(option.key)} className="choice">
              <input type="radio" name={field.name} checked={value === option.key} onChange={() => onChange(option.key)} />
              {option.display}
            </label>
          ))}
          {help}
        </fieldset>
      );
    case 'select': {
      const options = field.enum ?? [];
      const selected = options.findIndex((option) => option.key === value);
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <select id={id} name={field.name} value={selected} onChange={(event) => onChange(options[Number(event.target.value)]?.key)}>
            {selected === -1 && <option value={-1}>Choose…</option>}
            {options.map((option, index) => (
              <option key={String(option.key)} value={index}>
                {option.display}
              </option>
            ))}
          </select>
          {help}
        </div>
      );
    }
    case 'textarea':
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <textarea id={id} name={field.name} value={field.const ?? value ?? ''} readOnly={field.const !== undefined} placeholder={field.placeholder} required={field.required} onChange={(event) => onChange(event.target.value)} />
          {help}
        </div>
      );
    default:
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <input id={id} name={field.name} type={field.input_type ?? 'text'} value={field.const ?? value ?? ''} readOnly={field.const !== undefined} placeholder={field.placeholder} required={field.required} onChange={(event) => onChange(event.target.value)} />
          {help}
        </div>
      );
  }
}
