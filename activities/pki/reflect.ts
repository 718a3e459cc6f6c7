// @peculiar/x509 resolves its algorithm providers through tsyringe, which
// refuses to load without the Reflect metadata API. No polyfill package is a
// dependency, so this installs the small subset tsyringe and tslib's
// `__metadata` use — only when no polyfill (reflect-metadata, core-js, …) has
// been loaded already. Must be imported before '@peculiar/x509' (see ./x509).
type Key = unknown;
type Prop = string | symbol | undefined;

interface ReflectMetadata {
  getMetadata?(key: Key, target: object, prop?: Prop): unknown;
  getOwnMetadata?(key: Key, target: object, prop?: Prop): unknown;
  hasMetadata?(key: Key, target: object, prop?: Prop): boolean;
  hasOwnMetadata?(key: Key, target: object, prop?: Prop): boolean;
  defineMetadata?(key: Key, value: unknown, target: object, prop?: Prop): void;
  metadata?(key: Key, value: unknown): (target: object, prop?: Prop) => void;
}

const R = Reflect as unknown as ReflectMetadata;

if (typeof R.getMetadata !== 'function') {
  const store = new WeakMap<object, Map<Prop, Map<Key, unknown>>>();
  const own = (target: object, prop: Prop, create: boolean): Map<Key, unknown> | undefined => {
    let byProp = store.get(target);
    if (!byProp) {
      if (!create) return undefined;
      store.set(target, (byProp = new Map()));
    }
    let byKey = byProp.get(prop);
    if (!byKey && create) byProp.set(prop, (byKey = new Map()));
    return byKey;
  };
  const find = (key: Key, target: object, prop: Prop): Map<Key, unknown> | undefined => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      const m = own(t, prop, false);
      if (m?.has(key)) return m;
    }
    return undefined;
  };
  R.defineMetadata = (key, value, target, prop) => void own(target, prop, true)!.set(key, value);
  R.getOwnMetadata = (key, target, prop) => own(target, prop, false)?.get(key);
  R.hasOwnMetadata = (key, target, prop) => own(target, prop, false)?.has(key) ?? false;
  R.getMetadata = (key, target, prop) => find(key, target, prop)?.get(key);
  R.hasMetadata = (key, target, prop) => find(key, target, prop) !== undefined;
  R.metadata = (key, value) => (target, prop) => R.defineMetadata!(key, value, target, prop);
}

export {};
