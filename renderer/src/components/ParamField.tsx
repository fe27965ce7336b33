import { useEffect, useState } from 'react';
import type { ParamSpec, ParamValue } from '../../../core/index.js';

/** One form field generated from a parameter spec; `value` undefined means the selection disagrees (mixed). */
export function ParamField({ name, spec, value, onChange }: { name: string; spec: ParamSpec; value: ParamValue | undefined; onChange: (v: ParamValue) => void }) {
  const label = spec.label ?? name;
  const id = `param-${name}`;
  const [text, setText] = useState(value === undefined ? '' : String(value));
  useEffect(() => setText(value === undefined ? '' : String(value)), [value]);
  let field;
  if (spec.type === 'bool')
    field = <input id={id} data-testid={id} type="checkbox" checked={value === true} ref={(el) => void (el && (el.indeterminate = value === undefined))} onChange={(e) => onChange(e.target.checked)} />;
  else if (spec.type === 'enum')
    field = (
      <select id={id} data-testid={id} value={value === undefined ? '' : String(value)} onChange={(e) => onChange(e.target.value)}>
        {value === undefined && <option value="">(mixed)</option>}
        {spec.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  else {
    // Numbers commit on blur / Enter so typing "12" does not first try "1".
    const commit = () => {
      const v = Number(text);
      if (text.trim() !== '' && Number.isFinite(v) && v !== value) onChange(v);
      else setText(value === undefined ? '' : String(value));
    };
    field = (
      <input
        id={id}
        data-testid={id}
        type="number"
        step={spec.type === 'int' ? 1 : 'any'}
        min={spec.min}
        max={spec.max}
        placeholder={value === undefined ? 'mixed' : undefined}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    );
  }
  return (
    <label className="field" htmlFor={id} title={spec.help}>
      <span>{label}</span>
      {field}
    </label>
  );
}
