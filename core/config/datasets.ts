/**
 * Datasets both frameworks know by name. The frameworks size the classifier from the data they load
 * (RSB `make_data_loader` → num_classes; fast-reid `auto_scale_hyperparams` sets MODEL.HEADS.NUM_CLASSES),
 * so importing a config with a known dataset fixes the classifier to its training identities.
 */
export interface KnownDataset {
  /** `dataset.kind` in the training settings: the app's reader for it. */
  kind: DatasetLayoutId;
  /** reid-strong-baseline's DATASETS.NAMES (data/datasets/__init__.py); absent when RSB has no reader. */
  rsb?: string;
  /** fast-reid's registered dataset name (fastreid/data/datasets/*.py); absent when no name loads it. */
  fastreid?: string;
  /**
   * fast-reid's name for the training list this dataset shares with its other test sizes (vehicleid.py
   * `VehicleID`, veriwild.py `VeRiWild`: the Small / Medium / Large classes differ only in the test lists).
   */
  fastreidTrain?: string;
  /** This dataset's test lists are the ones the training-list name alone loads (veriwild.py `VeRiWild`: test_10000). */
  fastreidTrainTests?: boolean;
  label: string;
  /** Training identities after relabelling. */
  trainIds: number;
  /** Training images: fast-reid's iterations per epoch are len(train set) // batch. */
  trainImages: number;
  source: string;
}

export const KNOWN_DATASETS: readonly KnownDataset[] = [
  // Market-1501 (Zheng et al., ICCV 2015): 751 ids, 12,936 images in bounding_box_train.
  { kind: 'market1501', rsb: 'market1501', fastreid: 'Market1501', label: 'Market-1501', trainIds: 751, trainImages: 12936, source: 'Market-1501 (Zheng et al., ICCV 2015), bounding_box_train' },
  // DukeMTMC-reID (Zheng et al., ICCV 2017): 702 ids, 16,522 training images.
  { kind: 'dukemtmc', rsb: 'dukemtmc', fastreid: 'DukeMTMC', label: 'DukeMTMC-reID', trainIds: 702, trainImages: 16522, source: 'DukeMTMC-reID (Zheng et al., ICCV 2017), bounding_box_train' },
  // MSMT17 (Wei et al., CVPR 2018, Table 1): 1,041 training identities, 32,621 training images.
  { kind: 'msmt17', rsb: 'msmt17', fastreid: 'MSMT17', label: 'MSMT17', trainIds: 1041, trainImages: 32621, source: 'MSMT17 paper, Table 1' },
  // CUHK03 new protocol (Zhong et al., CVPR 2017): 767 training identities; 7,365 detected / 7,368 labeled
  // images. The frameworks' readers differ: fast-reid's CUHK03 loads the labeled boxes (cuhk03.py
  // `cuhk03_labeled=True`), reid-strong-baseline's cuhk03 the detected ones (`cuhk03_labeled=False`).
  { kind: 'cuhk03_labeled', fastreid: 'CUHK03', label: 'CUHK03 (labeled)', trainIds: 767, trainImages: 7368, source: 'CUHK03-NP (Zhong et al., CVPR 2017), labeled' },
  { kind: 'cuhk03_detected', rsb: 'cuhk03', label: 'CUHK03 (detected)', trainIds: 767, trainImages: 7365, source: 'CUHK03-NP (Zhong et al., CVPR 2017), detected' },
  // VeRi-776 (Liu et al., ECCV 2016): 576 training vehicles, 37,778 images in image_train.
  { kind: 'veri', fastreid: 'VeRi', label: 'VeRi-776', trainIds: 576, trainImages: 37778, source: 'VeRi-776 (Liu et al., ECCV 2016), image_train' },
  // PKU VehicleID (Liu et al., CVPR 2016): train_list.txt holds 110,178 images of 13,134 vehicles; fast-reid's
  // Small / Medium / LargeVehicleID evaluate on test_list_800 / 1600 / 2400.
  { kind: 'vehicleid_800', fastreidTrain: 'VehicleID', fastreid: 'SmallVehicleID', label: 'VehicleID (800)', trainIds: 13134, trainImages: 110178, source: 'PKU VehicleID (Liu et al., CVPR 2016), train_list.txt' },
  { kind: 'vehicleid_1600', fastreidTrain: 'VehicleID', fastreid: 'MediumVehicleID', label: 'VehicleID (1600)', trainIds: 13134, trainImages: 110178, source: 'PKU VehicleID (Liu et al., CVPR 2016), train_list.txt' },
  { kind: 'vehicleid_2400', fastreidTrain: 'VehicleID', fastreid: 'LargeVehicleID', label: 'VehicleID (2400)', trainIds: 13134, trainImages: 110178, source: 'PKU VehicleID (Liu et al., CVPR 2016), train_list.txt' },
  // VeRi-Wild (Lou et al., CVPR 2019): train_list.txt holds 277,797 images of 30,671 vehicles (fast-reid
  // veriwild.py's statistics); Small / Medium / LargeVeRiWild evaluate on test_3000 / 5000 / 10000
  // (+ _query), and the training name VeRiWild alone on test_10000.
  { kind: 'veriwild_3000', fastreidTrain: 'VeRiWild', fastreid: 'SmallVeRiWild', label: 'VeRi-Wild (3000)', trainIds: 30671, trainImages: 277797, source: 'VeRi-Wild (Lou et al., CVPR 2019), train_list.txt' },
  { kind: 'veriwild_5000', fastreidTrain: 'VeRiWild', fastreid: 'MediumVeRiWild', label: 'VeRi-Wild (5000)', trainIds: 30671, trainImages: 277797, source: 'VeRi-Wild (Lou et al., CVPR 2019), train_list.txt' },
  { kind: 'veriwild_10000', fastreidTrain: 'VeRiWild', fastreidTrainTests: true, fastreid: 'LargeVeRiWild', label: 'VeRi-Wild (10000)', trainIds: 30671, trainImages: 277797, source: 'VeRi-Wild (Lou et al., CVPR 2019), train_list.txt' },
];

/** The dataset a framework's DATASETS.NAMES entry loads (the same name can load different data: CUHK03). */
export function datasetByName(name: string, framework?: 'rsb' | 'fastreid'): KnownDataset | undefined {
  const n = name.trim().toLowerCase();
  return KNOWN_DATASETS.find((d) => (framework !== 'fastreid' && d.rsb === n) || (framework !== 'rsb' && d.fastreid?.toLowerCase() === n));
}

/**
 * The dataset fast-reid's DATASETS.NAMES / DATASETS.TESTS load, as the app evaluates one test set: a
 * training-list name (`VehicleID`, `VeRiWild`) takes its test size from the first TESTS entry of the same
 * family (configs/VehicleID/bagtricks_R50-ibn.yml: NAMES VehicleID, TESTS Small/Medium/LargeVehicleID),
 * else the family's first.
 */
export function fastreidDataset(names: readonly string[], tests: readonly string[]): KnownDataset | undefined {
  const name = (names[0] ?? 'Market1501').trim().toLowerCase();
  const family = KNOWN_DATASETS.filter((d) => d.fastreidTrain?.toLowerCase() === name);
  if (!family.length) return datasetByName(name, 'fastreid');
  const test = tests[0]?.trim().toLowerCase();
  return family.find((d) => d.fastreid?.toLowerCase() === test) ?? family.find((d) => d.fastreidTrainTests) ?? family[0];
}

export function datasetByKind(kind: string): KnownDataset | undefined {
  return KNOWN_DATASETS.find((d) => d.kind === kind);
}

/**
 * Dataset layouts the app reads (`dataset.kind` in the training settings, `--layout` of the CLI, `layout`
 * of the API). One row per reader; the folder is recognised by its marker folders / files. The readers
 * follow the frameworks' own (reid-strong-baseline `data/datasets/*.py`, fast-reid
 * `fastreid/data/datasets/*.py`); main/training/data/layouts.ts implements them.
 */
export const DATASET_LAYOUT_IDS = [
  'market1501',
  'dukemtmc',
  'cuhk03_detected',
  'cuhk03_labeled',
  'msmt17',
  'veri',
  'vehicleid_800',
  'vehicleid_1600',
  'vehicleid_2400',
  'veriwild_3000',
  'veriwild_5000',
  'veriwild_10000',
  'class_folders',
] as const;
export type DatasetLayoutId = (typeof DATASET_LAYOUT_IDS)[number];

export interface DatasetLayout {
  id: DatasetLayoutId;
  label: string;
  /** What the folder must hold (shown when a folder matches no layout). */
  markers: string;
  /** The frameworks' reader this one follows. */
  reader: string;
}

export const DATASET_LAYOUTS: readonly DatasetLayout[] = [
  { id: 'market1501', label: 'Market-1501', markers: 'bounding_box_train/, query/ and bounding_box_test/', reader: 'RSB data/datasets/market1501.py, fast-reid market1501.py' },
  { id: 'dukemtmc', label: 'DukeMTMC-reID', markers: "bounding_box_train/, query/ and bounding_box_test/ in a folder named DukeMTMC-reID (any path with 'duke')", reader: 'RSB data/datasets/dukemtmcreid.py, fast-reid dukemtmcreid.py' },
  {
    id: 'cuhk03_detected',
    label: 'CUHK03 detected (767/700)',
    markers: 'detected/{bounding_box_train,query,bounding_box_test}/ (CUHK03-NP), or images_detected/ + splits_new_detected.json (torchreid / fast-reid)',
    reader: 'fast-reid cuhk03.py (new protocol, cuhk03_labeled=False)',
  },
  {
    id: 'cuhk03_labeled',
    label: 'CUHK03 labeled (767/700)',
    markers: 'labeled/{bounding_box_train,query,bounding_box_test}/ (CUHK03-NP), or images_labeled/ + splits_new_labeled.json (torchreid / fast-reid)',
    reader: 'fast-reid cuhk03.py (new protocol, cuhk03_labeled=True)',
  },
  { id: 'msmt17', label: 'MSMT17', markers: 'MSMT17_V1/ (train/, test/) or MSMT17_V2/ (mask_train_v2/, mask_test_v2/) with list_train.txt, list_query.txt, list_gallery.txt', reader: 'fast-reid msmt17.py' },
  { id: 'veri', label: 'VeRi-776', markers: 'image_train/, image_query/ and image_test/', reader: 'RSB data/datasets/veri.py, fast-reid veri.py' },
  { id: 'vehicleid_800', label: 'VehicleID, 800-vehicle test', markers: 'image/ and train_test_split/ with train_list.txt, test_list_800.txt', reader: 'fast-reid vehicleid.py (SmallVehicleID)' },
  { id: 'vehicleid_1600', label: 'VehicleID, 1600-vehicle test', markers: 'image/ and train_test_split/ with train_list.txt, test_list_1600.txt', reader: 'fast-reid vehicleid.py (MediumVehicleID)' },
  { id: 'vehicleid_2400', label: 'VehicleID, 2400-vehicle test', markers: 'image/ and train_test_split/ with train_list.txt, test_list_2400.txt', reader: 'fast-reid vehicleid.py (LargeVehicleID)' },
  { id: 'veriwild_3000', label: 'VeRi-Wild, 3000-vehicle test', markers: 'images/ and train_test_split/ with train_list.txt, vehicle_info.txt, test_3000.txt, test_3000_query.txt', reader: 'fast-reid veriwild.py (SmallVeRiWild)' },
  { id: 'veriwild_5000', label: 'VeRi-Wild, 5000-vehicle test', markers: 'images/ and train_test_split/ with train_list.txt, vehicle_info.txt, test_5000.txt, test_5000_query.txt', reader: 'fast-reid veriwild.py (MediumVeRiWild)' },
  { id: 'veriwild_10000', label: 'VeRi-Wild, 10000-vehicle test', markers: 'images/ and train_test_split/ with train_list.txt, vehicle_info.txt, test_10000.txt, test_10000_query.txt', reader: 'fast-reid veriwild.py (LargeVeRiWild, VeRiWild)' },
  { id: 'class_folders', label: 'class per folder', markers: 'train/<class>/ (+ val/<class>/), or <class>/ folders of images', reader: 'torchvision ImageFolder; Person_reID_baseline_pytorch prepare.py' },
];

export function datasetLayout(id: string): DatasetLayout | undefined {
  return DATASET_LAYOUTS.find((l) => l.id === id);
}

/**
 * Codes of the user's dataset problems (a missing folder, no or a partial layout, an empty split, names that
 * follow no pattern, nothing readable, no query with a valid match): the API answers with them.
 */
export type DatasetErrorCode =
  | 'E_DATASET'
  | 'E_DATASET_NOT_FOUND'
  | 'E_DATASET_LAYOUT'
  | 'E_DATASET_EMPTY_SPLIT'
  | 'E_DATASET_UNPARSABLE'
  | 'E_DATASET_UNREADABLE'
  | 'E_DATASET_NO_VALID_QUERY';
