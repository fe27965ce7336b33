import { describeShard } from './fr-all-recipes.js';

/** fast-reid's Market-1501 SBS and MGN recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('market-sbs-mgn');
