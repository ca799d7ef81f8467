/*
 * The object-type table (exo/obj.h): the one place that lists every object
 * type, so the capability code need not.
 */
#include <exo/obj.h>

const struct obj_ops *const obj_types[OBJ_TYPES] = {
	[OBJ_FRAME] = &frame_obj_ops,	[OBJ_ENV] = &env_obj_ops,
	[OBJ_SLOT] = &slot_obj_ops,	[OBJ_ENDPOINT] = &endpoint_obj_ops,
	[OBJ_BLOCKS] = &blocks_obj_ops, [OBJ_BPF] = &bpf_obj_ops,
};
