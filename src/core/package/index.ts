export * from './nevra.js';
export * from './deb.js';
export * from './purl.js';
