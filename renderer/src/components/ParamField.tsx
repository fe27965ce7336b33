import { useEffect, useState } from 'react';
import { checkParam, type ParamSpec, type ParamValue } from '../../../core/index.js';

/**
 * One form field generated from a parameter spec; `value` undefined means the selection disagrees (mixed).
 * A value the spec or the command refuses is reverted in the field and the reason shown under it.
 */
export function ParamField({ name, spec, value, onChange }: { name: string; spec: ParamSpec; value: ParamValue | undefined; onChange: (v: ParamValue) => boolean | void }) {
  const label = spec.label ?? name;
  const id = `param-${name}`;
  const [text, setText] = useState(value === undefined ? '' : String(value));
  const [problem, setProblem] = useState<string | null>(null);
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
    const revert = () => setText(value === undefined ? '' : String(value));
    const commit = () => {
      const v = Number(text);
      if (text.trim() === '' || v === value) return void (revert(), setProblem(null));
      const why = checkParam(label, spec, v);
      if (why) return void (revert(), setProblem(why));
      if (onChange(v) === false) return void (revert(), setProblem(`${text.trim()} was refused`));
      setProblem(null);
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
        aria-invalid={problem ? true : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    );
  }
  return (
    <>
      <label className="field" htmlFor={id} title={spec.help}>
        <span>{label}</span>
        {field}
      </label>
      {problem && (
        <div className="field-problem" role="alert" data-testid={`${id}-problem`}>
          {problem}
        </div>
      )}
    </>
  );
}
