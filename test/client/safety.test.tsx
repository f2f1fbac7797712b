import { render, screen } from '@testing-library/preact'
import { describe, expect, it } from 'vitest'
import { linkify, safeHref } from '../../client/ui/linkify.ts'
import { MessageText } from '../../client/ui/MessageText.tsx'

describe('message text is text', () => {
  it('renders hostile HTML as visible characters and creates no elements', () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    const { container } = render(
      <p>
        <MessageText text={hostile} />
      </p>,
    )
    expect(container.textContent).toBe(hostile)
    expect(container.querySelector('img, script')).toBeNull()
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined()
  })

  it('links only http(s) and mailto', () => {
    render(
      <p>
        <MessageText text="see https://example.com/a?b=1, mail mailto:x@example.com or javascript:alert(1) data:text/html,hi" />
      </p>,
    )
    const links = screen.getAllByRole('link')
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com/a?b=1', 'mailto:x@example.com'])
    expect(links[0]!.getAttribute('rel')).toContain('noopener')
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('JAVASCRIPT:alert(1)')).toBeNull()
  })

  it('keeps trailing punctuation out of links', () => {
    expect(linkify('go to http://a.example.')).toEqual([
      { kind: 'text', text: 'go to ' },
      { kind: 'link', text: 'http://a.example', href: 'http://a.example/' },
      { kind: 'text', text: '.' },
    ])
  })
})
