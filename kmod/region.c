// SPDX-License-Identifier: GPL-2.0
/*
 * A memory region: kernel-allocated, shmem-backed memory of a size fixed at
 * creation, reached through handles (anon-inode fds) that can be mapped,
 * queried and duplicated. A handle opened read-only can only map the region
 * read-only, now and after any mprotect, and only makes read-only handles.
 *
 * Pages are allocated on first touch but always charged to the memory
 * cgroup of the process that created the region, whoever touches them: the
 * fault handler allocates them on the creator's behalf.
 *
 * The region lives while a handle or a mapping does; the creating node
 * counts it (and its size) against its limits all that time.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

static const struct file_operations ipcz_region_fops;

bool ipcz_is_region_file(const struct file *file)
{
	return file->f_op == &ipcz_region_fops;
}

static void ipcz_region_free(struct kref *ref)
{
	struct ipcz_region *r = container_of(ref, struct ipcz_region, ref);

	ipcz_registry_del(&r->registry_entry);
	fput(r->shmem);
	mem_cgroup_put(r->memcg);
	ipcz_node_uncharge_region(r->node, r->size);
	ipcz_node_put(r->node);
	kfree(r);
	ipcz_kind_put(IPCZ_KIND_REGION);
	/*
	 * Mappings hold the shmem file, not one of ours, so nothing else
	 * keeps the module (and these vm operations) loaded for them.
	 */
	module_put(THIS_MODULE);
}

static void ipcz_region_put(struct ipcz_region *r)
{
	kref_put(&r->ref, ipcz_region_free);
}

/* Makes a new handle to r, which takes a reference to r. */
static struct file *ipcz_region_handle(struct ipcz_region *r, bool readonly)
{
	struct file *file;

	file = anon_inode_getfile("[ipcz-region]", &ipcz_region_fops, r,
				  readonly ? O_RDONLY : O_RDWR);
	if (IS_ERR(file))
		return file;
	kref_get(&r->ref);
	atomic_inc(&r->handles);
	return file;
}

int ipcz_region_create(struct ipcz_node *node, u64 *length, bool readonly,
		       struct file **handle)
{
	struct ipcz_region *r;
	struct file *file;
	u64 size;
	int err;

	if (!*length || *length > MAX_LFS_FILESIZE)
		return -EINVAL;
	size = PAGE_ALIGN(*length);
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	err = ipcz_node_charge_region(node, size);
	if (err)
		goto free;
	r->shmem = shmem_file_setup("ipcz-region", size, VM_NORESERVE);
	if (IS_ERR(r->shmem)) {
		err = PTR_ERR(r->shmem);
		goto uncharge;
	}
	kref_init(&r->ref);
	/* Safe: the caller holds a node, hence the module. */
	__module_get(THIS_MODULE);
	r->size = size;
	r->node = ipcz_node_get(node);
	r->memcg = get_mem_cgroup_from_mm(current->mm);
	ipcz_kind_get(IPCZ_KIND_REGION);
	r->id = ipcz_registry_add(&r->registry_entry, &ipcz_registry_regions);

	file = ipcz_region_handle(r, readonly);
	/* The handle holds the region now, or nothing does. */
	ipcz_region_put(r);
	if (IS_ERR(file))
		return PTR_ERR(file);
	*length = size;
	*handle = file;
	return 0;

uncharge:
	ipcz_node_uncharge_region(node, size);
free:
	kfree(r);
	return err;
}

static void ipcz_region_vma_open(struct vm_area_struct *vma)
{
	struct ipcz_region *r = vma->vm_private_data;

	kref_get(&r->ref);
	atomic_inc(&r->mappings);
}

static void ipcz_region_vma_close(struct vm_area_struct *vma)
{
	struct ipcz_region *r = vma->vm_private_data;

	atomic_dec(&r->mappings);
	ipcz_region_put(r);
}

static vm_fault_t ipcz_region_fault(struct vm_fault *vmf)
{
	struct ipcz_region *r = vmf->vma->vm_private_data;
	struct address_space *mapping = r->shmem->f_mapping;
	struct mem_cgroup *old;
	struct page *page;

	if (vmf->pgoff >= r->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	/* Without an mm to charge, shmem charges the active memcg. */
	old = set_active_memcg(r->memcg);
	page = shmem_read_mapping_page_gfp(mapping, vmf->pgoff,
					   mapping_gfp_mask(mapping));
	set_active_memcg(old);
	if (IS_ERR(page))
		return vmf_error(PTR_ERR(page));
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct ipcz_region_vm_ops = {
	.open = ipcz_region_vma_open,
	.close = ipcz_region_vma_close,
	.fault = ipcz_region_fault,
	.map_pages = filemap_map_pages,
};

static int ipcz_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ipcz_region *r = file->private_data;
	unsigned long pages = r->size >> PAGE_SHIFT;

	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE)) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		/* Nor can mprotect() make it writable later. */
		vma->vm_flags &= ~VM_MAYWRITE;
	}
	vma->vm_flags |= VM_DONTEXPAND;
	/* The mapping is of the shmem file itself, as for memfd. */
	vma_set_file(vma, r->shmem);
	vma->vm_ops = &ipcz_region_vm_ops;
	vma->vm_private_data = r;
	ipcz_region_vma_open(vma);
	return 0;
}

static int ipcz_region_release(struct inode *inode, struct file *file)
{
	struct ipcz_region *r = file->private_data;

	atomic_dec(&r->handles);
	ipcz_region_put(r);
	return 0;
}

static int ipcz_install_new_file(struct file *file, unsigned int flags,
				 s32 *fd_out, void __user *uargs,
				 const void *args, size_t size)
{
	int fd;

	fd = get_unused_fd_flags(flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	*fd_out = fd;
	if (ipcz_return_args(uargs, args, size)) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

int ipcz_region_ioctl_create(struct ipcz_node *node, void __user *uargs)
{
	struct ipcz_region_create args;
	struct file *file;
	int err;

	err = ipcz_copy_args(&args, sizeof(args),
			     IPCZ_REGION_CREATE_SIZE_VER0, uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_CLOEXEC || args.reserved)
		return -EINVAL;
	err = ipcz_region_create(node, &args.length, false, &file);
	if (err)
		return err;
	return ipcz_install_new_file(file, args.flags, &args.fd, uargs, &args,
				     sizeof(args));
}

static int ipcz_region_ioctl_info(struct ipcz_region *r, struct file *file,
				  void __user *uargs)
{
	struct ipcz_region_info args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_REGION_INFO_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags)
		return -EINVAL;
	args.flags = file->f_mode & FMODE_WRITE ? 0 : IPCZ_REGION_READONLY;
	args.length = r->size;
	args.id = r->id;
	return ipcz_return_args(uargs, &args, sizeof(args));
}

static int ipcz_region_ioctl_dup(struct ipcz_region *r, struct file *file,
				 void __user *uargs)
{
	struct ipcz_region_dup args;
	struct file *dup;
	bool readonly;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_REGION_DUP_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags & ~(IPCZ_CLOEXEC | IPCZ_REGION_READONLY) ||
	    args.reserved)
		return -EINVAL;
	readonly = args.flags & IPCZ_REGION_READONLY;
	if (!readonly && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	dup = ipcz_region_handle(r, readonly);
	if (IS_ERR(dup))
		return PTR_ERR(dup);
	return ipcz_install_new_file(dup, args.flags, &args.fd, uargs, &args,
				     sizeof(args));
}

static long ipcz_region_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct ipcz_region *r = file->private_data;
	void __user *uargs = (void __user *)arg;

	switch (cmd) {
	case IPCZ_IOC_REGION_INFO:
		return ipcz_region_ioctl_info(r, file, uargs);
	case IPCZ_IOC_REGION_DUP:
		return ipcz_region_ioctl_dup(r, file, uargs);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ipcz_region_fops = {
	.owner = THIS_MODULE,
	.mmap = ipcz_region_mmap,
	.release = ipcz_region_release,
	.unlocked_ioctl = ipcz_region_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
