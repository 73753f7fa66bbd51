/* weir: streaming dataflow for AI data preparation. Include this header
 * alone; it brings in every public part of the API. */
#ifndef WEIR_H
#define WEIR_H

#include "weir/export.h"
#include "weir/version.h"
#include "weir/error.h"
#include "weir/block.h"
#include "weir/arrow_abi.h"
#include "weir/dlpack.h"
#include "weir/pipeline.h"
#include "weir/stats.h"
#include "weir/io.h"
#include "weir/parquet.h"
#include "weir/media.h"
#include "weir/text.h"
#include "weir/dist.h"
#include "weir/cuda.h"
#include "weir/plugin.h"

#endif /* WEIR_H */
