#!/usr/bin/env python3
"""Module cycles per crate: `scripts/module-cycles.py <crate>/src ...`.

Reads every `crate::a::b` and `super::x` path outside comments and test
modules, maps it to the longest module prefix that is a file, and prints the
strongly connected components of that file graph and of the graph of
top-level modules. Exits 1 when there is any cycle.
"""
import os,re,sys,itertools
# module graph per crate: nodes = module paths (file-level), edges = `use crate::a::b` / `crate::a::b::` references
def modpath(root, f):
    rel=os.path.relpath(f, root)[:-3]
    parts=rel.split('/')
    if parts[-1] in ('mod','lib','main'): parts=parts[:-1]
    return '::'.join(parts)
def crate_graph(src):
    mods={}
    for d,_,fs in os.walk(src):
        for f in fs:
            if f.endswith('.rs') and '/bin' not in d:
                p=os.path.join(d,f); mods[modpath(src,p)]=p
    edges={m:set() for m in mods}
    for m,p in mods.items():
        text=open(p).read()
        text=re.split(r'#\[cfg\(test\)\]\s*mod tests', text)[0]
        text='\n'.join(l for l in text.split('\n') if not l.lstrip().startswith('//'))
        for ref in re.findall(r'crate::([a-z_][a-z0-9_:]*)', text):
            parts=ref.split('::')
            # longest prefix that is a module
            best=None
            for k in range(len(parts),0,-1):
                c='::'.join(parts[:k])
                if c in mods: best=c;break
            if best and best!=m and not m.startswith(best+'::') : edges[m].add(best)
        # use super::x
        for ref in re.findall(r'super::([a-z_][a-z0-9_]*)', text):
            base=m.rsplit('::',1)[0] if '::' in m else ''
            c=(base+'::'+ref) if base else ref
            if c in mods and c!=m: edges[m].add(c)
    return edges
def sccs(g):
    idx={};low={};st=[];on=set();res=[];i=[0]
    sys.setrecursionlimit(10000)
    def sc(v):
        idx[v]=low[v]=i[0];i[0]+=1;st.append(v);on.add(v)
        for w in g.get(v,()):
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            c=[]
            while True:
                w=st.pop();on.discard(w);c.append(w)
                if w==v:break
            if len(c)>1: res.append(sorted(c))
    for v in g:
        if v not in idx: sc(v)
    return res
total=0
for src in sys.argv[1:]:
    g=crate_graph(src)
    # file-level cycles, and top-level-module cycles
    c=sccs(g)
    top={}
    for a,bs in g.items():
        ta=a.split('::')[0]
        for b in bs:
            tb=b.split('::')[0]
            if ta!=tb: top.setdefault(ta,set()).add(tb)
    ct=sccs(top)
    total+=len(c)+len(ct)
    print(src, 'file cycles:', c, 'top-module cycles:', ct)
print('total', total)
sys.exit(1 if total else 0)
