# A directory as the box's filesystem: the Unix port's data_dir, the ESP32's littlefs root ("/data").
# App code names files relative to the root and never imports os itself.
import os


class DirFS:
    def __init__(self, root):
        self.root = root.rstrip("/") or "/"

    def path(self, name):
        return self.root + "/" + name if name else self.root

    def open(self, name, mode="rb"):
        return open(self.path(name), mode)

    def listdir(self, name=""):
        return os.listdir(self.path(name))

    def remove(self, name):
        os.remove(self.path(name))

    def rename(self, old, new):
        # Atomic replacement on POSIX and on littlefs: the write-then-rename idiom relies on it.
        os.rename(self.path(old), self.path(new))

    def size(self, name):
        return os.stat(self.path(name))[6]

    def exists(self, name):
        try:
            os.stat(self.path(name))
            return True
        except OSError:
            return False

    def mkdir(self, name):
        if not self.exists(name):
            os.mkdir(self.path(name))

    def free(self):
        """Free bytes on the volume (statvfs), or -1 when the port cannot tell."""
        try:
            st = os.statvfs(self.root)
            return st[0] * st[4]
        except (OSError, AttributeError):
            return -1
