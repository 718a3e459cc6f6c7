// Schemathesis' summary printed in the suite's output must not read as pytest's closing line
// (CI took "=== 3 warnings in 40.01s ===" for a pytest run that executed no test).
import { unbannered } from '../../infra/schemathesis';

test('pytest-style banners become plain lines; everything else is kept', () => {
  const out = [
    '      =================================== SUMMARY ====================================',
    '      Test cases:',
    '        891 generated, 891 passed',
    '      ============================= 3 warnings in 40.01s =============================',
    '=== no tests ran in 0.01s ===',
    'a == b == c',
  ].join('\n');
  expect(unbannered(out).split('\n')).toEqual([
    '      -- SUMMARY --',
    '      Test cases:',
    '        891 generated, 891 passed',
    '      -- 3 warnings in 40.01s --',
    '-- no tests ran in 0.01s --',
    'a == b == c',
  ]);
  expect(unbannered(out)).not.toMatch(/^\s*=+ .* in [\d.]+s =+\s*$/m);
});
